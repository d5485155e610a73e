using System.Globalization;

namespace KimiSharp.Engine;

/// <summary>
/// How much memory the KV cache may take, and what context that allows: the one estimate behind <c>--ctx</c>'s default,
/// the startup check of <c>kimi serve</c> and the engine's block pool. Physical memory available now (Linux: MemAvailable,
/// else the GC's view of total memory less this process's working set), but never more than total memory less the model
/// file (the mapped weights must stay in the page cache to run fast), less <see cref="Headroom"/> for the rest.
/// </summary>
public static class KvMemory
{
    /// <summary>Kept free for scratch, the managed heap and the OS.</summary>
    public const long Headroom = 1L << 30;

    /// <summary>Bytes the KV cache may use on this machine with a model of <paramref name="modelFileBytes"/> mapped (0 or more).</summary>
    public static long BudgetBytes(long modelFileBytes)
    {
        var (available, total) = PhysicalMemory();
        return BudgetBytes(modelFileBytes, available, total);
    }

    /// <summary>The same for given memory figures: min(available, total − file) − headroom, at least 0.</summary>
    public static long BudgetBytes(long modelFileBytes, long available, long total) =>
        Math.Max(0, Math.Min(available, total - modelFileBytes) - Headroom);

    /// <summary>The longest context one sequence can have within <paramref name="budgetBytes"/>.</summary>
    public static long MaxContext(long budgetBytes, long bytesPerToken) =>
        bytesPerToken <= 0 ? long.MaxValue : Math.Max(0, budgetBytes / bytesPerToken);

    /// <summary>"1.5 GiB"-style text for messages.</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("F1", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("F1", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };

    /// <summary>(available now, total) physical memory in bytes.</summary>
    public static (long Available, long Total) PhysicalMemory()
    {
        long gcTotal = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;   // honours container limits
        try
        {
            if (File.Exists("/proc/meminfo"))
            {
                long available = -1, total = -1;
                foreach (var line in File.ReadLines("/proc/meminfo"))
                {
                    if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)) available = KiB(line);
                    else if (line.StartsWith("MemTotal:", StringComparison.Ordinal)) total = KiB(line);
                }
                if (available >= 0 && total > 0)
                    return (Math.Min(available, gcTotal), Math.Min(total, gcTotal));
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return (Math.Max(0, gcTotal - Environment.WorkingSet), gcTotal);
    }

    private static long KiB(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kib) ? kib * 1024 : -1;
    }
}
