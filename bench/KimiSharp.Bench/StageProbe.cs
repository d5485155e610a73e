using System.Diagnostics;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Bench;

/// <summary>
/// `stages MODEL TOKENS [--exact] [-t THREADS]`: a coarse profile of one prompt's forward pass (default 2 threads) — the time
/// between consecutive intermediate tensors the forward pass reports to its observer (e.g. "ffn_moe_weights_scaled→ffn_gate"
/// is the routed experts), summed over layers, least of 7 runs after a warm-up (thread CPU time with -t 1).
/// </summary>
internal static partial class StageProbe
{
    public static void Run(string path, int tokens, bool exact = false, int threads = 2)
    {
        using var model = DeepSeek2Model.Load(path, new ModelOptions(threads, Exact: exact));
        var rng = new Random(1);
        var prompt = Enumerable.Range(0, tokens).Select(_ => rng.Next(0, 550)).ToArray();
        var logits = new float[tokens * model.VocabSize];
        // one thread: the forward pass runs on this thread alone, so its CPU time is the work itself, steady on a shared
        // machine; each stage keeps its least time over the runs
        bool cpu = threads == 1 && OperatingSystem.IsLinux();
        double Now() => cpu ? ThreadCpuSeconds() * 1e3 : Stopwatch.GetTimestamp() * 1e3 / Stopwatch.Frequency;
        var run = new Dictionary<string, double>();
        var best = new Dictionary<string, double>();
        double last = 0;
        string lastName = "start";
        model.Forward.Observer = (name, _) =>
        {
            double now = Now();
            string key = lastName.Split('-')[0] + "→" + name.Split('-')[0];
            run[key] = run.GetValueOrDefault(key) + now - last;
            last = Now();
            lastName = name;
        };
        for (int rep = 0; rep < 8; rep++)
        {
            run.Clear();
            using var s = model.CreateSession(tokens);
            lastName = "start";
            last = Now();
            double t0 = Now();
            s.ForwardAll(prompt, logits);
            run["TOTAL"] = Now() - t0;
            if (rep > 0)
                foreach (var kv in run)
                    best[kv.Key] = Math.Min(best.GetValueOrDefault(kv.Key, double.MaxValue), kv.Value);
        }
        Console.WriteLine(cpu ? "thread CPU time, least of 7 runs" : "wall time, least of 7 runs");
        foreach (var kv in best.OrderByDescending(k => k.Value).Take(25))
            Console.WriteLine($"{kv.Key,-45} {kv.Value,8:F2} ms");
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec time);

    private struct Timespec
    {
        public long Seconds, Nanoseconds;
    }

    /// <summary>CLOCK_THREAD_CPUTIME_ID (3): CPU time of the calling thread.</summary>
    private static double ThreadCpuSeconds() => ClockGetTime(3, out var t) == 0 ? t.Seconds + t.Nanoseconds * 1e-9 : 0;
}
