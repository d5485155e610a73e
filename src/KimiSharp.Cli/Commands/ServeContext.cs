using System.Globalization;

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

    /// <summary>Memory kept free for everything else (the process, the OS).</summary>
    private const long Headroom = 1L << 30;

    /// <summary>The chosen context and one line saying why.</summary>
    public static (int Tokens, string Reason) Choose(int trained, long kvBytesPerToken, int parallel, long weightBytes, MemorySnapshot memory)
    {
        if (trained < 1)
            throw new ArgumentOutOfRangeException(nameof(trained), trained, "the model does not say its trained context; pass --ctx");
        long budget = Math.Min(memory.Total - weightBytes, memory.Available) - Headroom;
        long perToken = Math.Max(1, kvBytesPerToken) * Math.Max(1, parallel);
        long fits = Math.Max(0, budget) / perToken;
        string kv = $"KV cache {Bytes(kvBytesPerToken)}/token × {parallel} parallel sequences";
        if (fits >= trained)
            return (trained, $"the model's trained context ({kv} = {Bytes(perToken * trained)} at most; {Bytes(Math.Max(0, budget))} of memory free for it)");

        int floor = Math.Min(trained, Floor);
        int capped = (int)Math.Max(floor, fits / Granularity * Granularity);
        return (capped, $"capped from the trained {trained.ToString(CultureInfo.InvariantCulture)} by memory: {kv} must fit in " +
            $"{Bytes(Math.Max(0, budget))} ({Bytes(memory.Available)} available, {Bytes(memory.Total)} total, {Bytes(weightBytes)} of weights); --ctx N overrides");
    }

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F1} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:F1} KiB",
        _ => $"{bytes} B",
    };
}

/// <summary>Physical memory and what is available to a new allocation (Linux: MemTotal and MemAvailable).</summary>
internal sealed record MemorySnapshot(long Total, long Available)
{
    public static MemorySnapshot Current()
    {
        long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes; // physical memory, or the container's limit
        if (OperatingSystem.IsLinux() && File.Exists("/proc/meminfo"))
        {
            long? memTotal = null, memAvailable = null;
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal)) memTotal = Kilobytes(line);
                else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)) memAvailable = Kilobytes(line);
            }

            if (memAvailable is long available)
                return new MemorySnapshot(Math.Min(total, memTotal ?? total), Math.Min(total, available));
        }

        return new MemorySnapshot(total, total);
    }

    private static long? Kilobytes(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kb) ? kb * 1024 : null;
    }
}
