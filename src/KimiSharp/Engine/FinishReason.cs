namespace KimiSharp.Engine;

public enum FinishReason
{
    /// <summary>An end-of-generation token (or a requested stop token id).</summary>
    Stop,

    /// <summary>Max tokens reached or the context is full.</summary>
    Length,

    /// <summary>A stop string matched.</summary>
    StopString,

    /// <summary>The caller cancelled.</summary>
    Cancelled,
}
