using System.Globalization;
using KimiSharp.Engine;

namespace KimiSharp.Cli.Commands;

/// <summary>
/// The context <c>kimi serve</c> uses when <c>--ctx</c> is not given: the model's trained context, capped so the KV
/// caches of all parallel sequences, full, fit in the memory left beside the weights (the weights are memory-mapped:
/// once read they occupy page cache as large as the file). Agents need this: Claude Code's first prompt alone is
/// about 13K tokens and it asks for 128K more.
/// </summary>
internal static class ServeContext
{
    /// <summary>Sizes are rounded down to this many tokens.</summary>
    private const int Granularity = 1024;

    /// <summary>Never below this (or the trained context when smaller), even when memory looks short.</summary>
    private const int Floor = 4096;

    /// <summary>The chosen context and one line saying why.</summary>
    public static (int Tokens, string Reason) Choose(int trained, long kvBytesPerToken, int parallel, long weightBytes, MemorySnapshot memory)
    {
        if (trained < 1)
            throw new ArgumentOutOfRangeException(nameof(trained), trained, "the model does not say its trained context; pass --ctx");
        long budget = KvMemory.BudgetBytes(weightBytes, memory.Available, memory.Total);   // the engine's own estimate
        long perToken = Math.Max(1, kvBytesPerToken) * Math.Max(1, parallel);
        long fits = Math.Max(0, budget) / perToken;
        string kv = $"KV cache {KvMemory.Format(kvBytesPerToken)}/token × {parallel} parallel sequences";
        if (fits >= trained)
            return (trained, $"the model's trained context ({kv} = {KvMemory.Format(perToken * trained)} at most; {KvMemory.Format(Math.Max(0, budget))} of memory free for it)");

        int floor = Math.Min(trained, Floor);
        int capped = (int)Math.Max(floor, fits / Granularity * Granularity);
        return (capped, $"capped from the trained {trained.ToString(CultureInfo.InvariantCulture)} by memory: {kv} must fit in " +
            $"{KvMemory.Format(Math.Max(0, budget))} ({KvMemory.Format(memory.Available)} available, {KvMemory.Format(memory.Total)} total, {KvMemory.Format(weightBytes)} of weights); --ctx N overrides");
    }
}

/// <summary>Physical memory and what is available to a new allocation (Linux: MemTotal and MemAvailable).</summary>
internal sealed record MemorySnapshot(long Total, long Available)
{
    /// <summary>This machine now (<see cref="KvMemory.PhysicalMemory"/>: MemTotal and MemAvailable on Linux, container limits honoured).</summary>
    public static MemorySnapshot Current()
    {
        var (available, total) = KvMemory.PhysicalMemory();
        return new MemorySnapshot(total, available);
    }
}
