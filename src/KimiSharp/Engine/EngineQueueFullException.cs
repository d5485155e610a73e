namespace KimiSharp.Engine;

/// <summary>Too many requests are already waiting (map to HTTP 429/503).</summary>
public sealed class EngineQueueFullException(int maxQueued)
    : Exception($"the engine queue is full ({maxQueued} requests waiting); try again later")
{
    public int MaxQueuedRequests { get; } = maxQueued;
}
