using System.Diagnostics;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Bench;

/// <summary>
/// `modes MODEL [PP] [TG] [ROUNDS] [THREADS]`: the exact path (ModelOptions.Exact) against the default fast path in one
/// process, alternating run by run (one micro-batch of PP tokens, TG single-token steps), best and median of each, by wall
/// clock and by the process's CPU time (with 1 thread no worker spins, so CPU time is the work itself: the steadiest figure
/// on a machine shared with other jobs). The alternation and best-of keep the ratio meaningful where absolute numbers drift.
/// </summary>
internal static class ModeCompare
{
    public static void Run(string path, int pp, int tg, int rounds, int threads)
    {
        var modes = new[] { ("exact", true), ("fast", false) };
        var models = modes.Select(m => DeepSeek2Model.Load(path, new ModelOptions(threads, MaxBatch: Math.Max(pp, 1), Exact: m.Item2))).ToArray();
        var rng = new Random(1);
        int vocab = models[0].VocabSize;
        var prompt = Enumerable.Range(0, pp).Select(_ => rng.Next(3, vocab)).ToArray();
        var logits = new float[vocab];
        var ppTimes = modes.Select(_ => new List<double>()).ToArray();
        var tgTimes = modes.Select(_ => new List<double>()).ToArray();
        var ppCpu = modes.Select(_ => new List<double>()).ToArray();
        var tgCpu = modes.Select(_ => new List<double>()).ToArray();
        var process = Process.GetCurrentProcess();
        double Cpu()
        {
            process.Refresh();
            return process.TotalProcessorTime.TotalSeconds;
        }
        for (int round = 0; round <= rounds; round++)
            for (int m = 0; m < modes.Length; m++)
            {
                if (pp > 0)
                {
                    using var s = models[m].CreateSession(pp);
                    double c0 = Cpu();
                    long t0 = Stopwatch.GetTimestamp();
                    s.Forward(prompt, logits);
                    if (round > 0) ppTimes[m].Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                    if (round > 0) ppCpu[m].Add(Cpu() - c0);
                }
                if (tg > 0)
                {
                    using var s = models[m].CreateSession(tg);
                    int token = 5;
                    double c0 = Cpu();
                    long t0 = Stopwatch.GetTimestamp();
                    for (int i = 0; i < tg; i++)
                    {
                        s.Forward([token], logits);
                        token = 3 + (token * 7 + i) % (vocab - 3);
                    }
                    if (round > 0) tgTimes[m].Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
                    if (round > 0) tgCpu[m].Add(Cpu() - c0);
                }
            }
        for (int m = 0; m < modes.Length; m++)
        {
            string Line(string test, int n, List<double> times) => times.Count == 0 ? "" :
                $"{test} best {n / times.Min(),7:F2} t/s, median {n / times.Order().ElementAt(times.Count / 2),7:F2} t/s   ";
            Console.WriteLine($"{modes[m].Item1,-6} wall {Line($"pp{pp}", pp, ppTimes[m])}{Line($"tg{tg}", tg, tgTimes[m])}");
            Console.WriteLine($"{modes[m].Item1,-6} cpu  {Line($"pp{pp}", pp, ppCpu[m])}{Line($"tg{tg}", tg, tgCpu[m])}");
        }
        if (pp > 0) Console.WriteLine($"fast/exact pp best-ratio wall {ppTimes[0].Min() / ppTimes[1].Min():F2}, cpu {ppCpu[0].Min() / ppCpu[1].Min():F2}");
        if (tg > 0) Console.WriteLine($"fast/exact tg best-ratio wall {tgTimes[0].Min() / tgTimes[1].Min():F2}, cpu {tgCpu[0].Min() / tgCpu[1].Min():F2}");
        foreach (var model in models) model.Dispose();
    }
}
