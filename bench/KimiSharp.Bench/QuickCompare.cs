using System.Diagnostics;
using KimiSharp.Quants;

namespace KimiSharp.Bench;

/// <summary>`quick`: a fast Stopwatch comparison (best of several runs) for kernel work; the BenchmarkDotNet report is the real figure.</summary>
internal static class QuickCompare
{
    public static void Run(string[] typeNames)
    {
        var types = typeNames.Length > 0 ? typeNames.Select(Enum.Parse<GgmlType>) : MatVecBench.Types;
        foreach (var t in types)
        {
            var b = new MatVecBench { Type = t };
            b.Setup();
            double Best(Func<float> f)
            {
                double best = double.MaxValue;
                for (int i = 0; i < 30; i++)
                {
                    long s = Stopwatch.GetTimestamp();
                    f();
                    best = Math.Min(best, Stopwatch.GetElapsedTime(s).TotalNanoseconds);
                }
                return b.WeightBytes / best;
            }
            Best(b.Ours); Best(b.Ggml);
            double ours = Best(b.Ours), ggml = Best(b.Ggml);
            Console.WriteLine($"{t,-6} ours {ours,6:F1} GB/s  ggml {ggml,6:F1} GB/s  ratio {ours / ggml:F2}");
            b.Dispose();
        }
    }
}
