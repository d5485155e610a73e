using System.Runtime.InteropServices;

namespace KimiSharp.Bench.Grammar;

/// <summary>
/// CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID), so that per-call timings on a shared, loaded
/// machine leave out the time the thread spent preempted; elsewhere falls back to wall-clock time.
/// </summary>
internal static partial class ThreadClock
{
    private const int ClockThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    public static bool IsThreadTime { get; } = OperatingSystem.IsLinux() && Probe();

    private static bool Probe()
    {
        try
        {
            return ClockGetTime(ClockThreadCpuTime, out _) == 0;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Microseconds on the thread's clock (or wall clock).</summary>
    public static double NowMicroseconds()
    {
        if (!IsThreadTime) return System.Diagnostics.Stopwatch.GetTimestamp() * 1e6 / System.Diagnostics.Stopwatch.Frequency;
        ClockGetTime(ClockThreadCpuTime, out var t);
        return t.Seconds * 1e6 + t.Nanoseconds / 1e3;
    }
}
