using KimiSharp.Engine;

namespace KimiSharp.Server.Backend;

/// <summary>A backend that runs an <see cref="InferenceEngine"/> and can report its state (for /metrics).</summary>
public interface IEngineStatsSource
{
    /// <summary>The engine's counters, or null while there is no engine (still loading, failed).</summary>
    EngineStats? EngineStats { get; }
}
