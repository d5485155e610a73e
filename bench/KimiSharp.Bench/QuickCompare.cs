using System.Diagnostics;
using KimiSharp.Quants;

namespace KimiSharp.Bench;

/// <summary>`quick`: a fast Stopwatch comparison (best of several runs) for kernel work; the BenchmarkDotNet report is the real figure.</summary>
internal static class QuickCompare
{
    /// <summary>Best-of-N streaming read (1 and all threads) and multi-threaded Q4_K mat-vec over ~115 MB.</summary>
    public static void Bandwidth()
    {
        var b = new BandwidthBench();
        b.Setup();
        double Best(Func<object> f, long bytes, int runs)
        {
            double best = double.MaxValue;
            for (int i = 0; i < runs; i++)
            {
                long s = Stopwatch.GetTimestamp();
                f();
                best = Math.Min(best, Stopwatch.GetElapsedTime(s).TotalNanoseconds);
            }
            return bytes / best;
        }
        Best(() => b.StreamRead1Thread(), BandwidthBench.StreamBytes, 2);
        Best(() => b.Q4KMatVecAllThreads(), BandwidthBench.Q4KBytes, 2);
        double s1 = Best(() => b.StreamRead1Thread(), BandwidthBench.StreamBytes, 10);
        double sAll = Best(() => b.StreamReadAllThreads(), BandwidthBench.StreamBytes, 10);
        double mv = Best(() => b.Q4KMatVecAllThreads(), BandwidthBench.Q4KBytes, 10);
        double mvRepack = Best(() => b.Q4KMatVecRepackOrderAllThreads(), BandwidthBench.Q4KBytes, 10);
        Console.WriteLine($"stream read 1 thread {s1:F1} GB/s, {BandwidthBench.Threads} threads {sAll:F1} GB/s; " +
            $"Q4_K mat-vec {BandwidthBench.Q4KBytes / 1e6:F0} MB on {BandwidthBench.Threads} threads {mv:F1} GB/s ({100 * mv / sAll:F0}% of streaming), " +
            $"in llama.cpp's repacked-gemv order {mvRepack:F1} GB/s ({100 * mvRepack / sAll:F0}%)");
        b.Dispose();
    }

    public static void Run(string[] typeNames)
    {
        var types = typeNames.Length > 0 ? typeNames.Select(Enum.Parse<GgmlType>) : MatVecBench.Types;
        foreach (var t in types)
        {
            var b = MatVecBenchBase.For(t);
            b.Setup();
            // warm up for 0.5 s first so every method has left the JIT's tier 0 (a 2 MiB F32 pass takes ~25 µs)
            long warm = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(warm).TotalMilliseconds < 500)
            {
                b.Ours();
                b.Ggml();
            }
            // alternate the two kernels and keep each one's best run: on a shared machine this is the least noisy figure
            double bestOurs = double.MaxValue, bestGgml = double.MaxValue;
            for (int i = 0; i < 400; i++)
            {
                long s = Stopwatch.GetTimestamp();
                b.Ours();
                bestOurs = Math.Min(bestOurs, Stopwatch.GetElapsedTime(s).TotalNanoseconds);
                s = Stopwatch.GetTimestamp();
                b.Ggml();
                bestGgml = Math.Min(bestGgml, Stopwatch.GetElapsedTime(s).TotalNanoseconds);
            }
            double ours = b.WeightBytes / bestOurs, ggml = b.WeightBytes / bestGgml;
            Console.WriteLine($"{t,-6} ours {ours,6:F1} GB/s  ggml {ggml,6:F1} GB/s  ratio {ours / ggml:F2}");
            b.Dispose();
        }
    }
}

/// <summary>`kernels TYPE…`: every dot kernel a type has (per SimdLevel, or each i-quant kernel), best-of-N GB/s on the mat-vec data.</summary>
internal static unsafe class KernelCompare
{
    public static void Run(string[] typeNames)
    {
        foreach (var t in typeNames.Select(Enum.Parse<GgmlType>))
        {
            var b = MatVecBenchBase.For(t);
            b.Setup();
            var codec = QuantCodecs.GetCodec(t);
            var kernels = new List<(string Name, Func<float> Run)> { ("ggml", b.Ggml) };
            if (codec is KimiSharp.Quants.IQuants.IQuantCodecBase iq)
                foreach (var k in iq.Kernels)
                    kernels.Add((k.Name, () => b.Each((w, a, n) => k.Invoke((byte*)w, (byte*)a, n))));
            else if (codec is BlockCodec bc)
                foreach (var level in Enum.GetValues<SimdLevel>().Where(Simd.IsAvailable))
                    kernels.Add((level.ToString(), () => b.Each((w, a, n) => bc.VecDot(level, (byte*)w, (byte*)a, n))));
            long warm = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(warm).TotalMilliseconds < 500)
                foreach (var k in kernels)
                    k.Run();
            var best = kernels.Select(_ => double.MaxValue).ToArray();
            for (int i = 0; i < 100; i++)
                for (int k = 0; k < kernels.Count; k++)
                {
                    long s = Stopwatch.GetTimestamp();
                    kernels[k].Run();
                    best[k] = Math.Min(best[k], Stopwatch.GetElapsedTime(s).TotalNanoseconds);
                }
            Console.WriteLine($"{t,-7} " + string.Join("  ", kernels.Select((k, i) => $"{k.Name} {b.WeightBytes / best[i],5:F1}")) + " GB/s");
            b.Dispose();
        }
    }
}
