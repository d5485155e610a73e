namespace KimiSharp.Hub;

public sealed record PullOptions
{
    public string Revision { get; init; } = "main";

    /// <summary>Files downloaded at the same time.</summary>
    public int ParallelDownloads { get; init; } = 4;

    /// <summary>Tries per file (dropped connections resume; a checksum mismatch starts the file over).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Wait before retry n is n × this.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A connection that delivers nothing for this long is dropped and resumed.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Free bytes in a directory (tests replace it); default asks the file system.</summary>
    public Func<string, long>? FreeSpace { get; init; }
}
