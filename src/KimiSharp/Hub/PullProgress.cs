namespace KimiSharp.Hub;

/// <summary>Download progress of one file (bytes on disk so far, including bytes from an earlier run).</summary>
public readonly record struct PullProgress(string File, long BytesDone, long BytesTotal, PullFileState State);

public enum PullFileState
{
    Waiting,
    Downloading,
    Verifying,
    Retrying,
    Done,
}
