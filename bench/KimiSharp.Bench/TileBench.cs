using System.Diagnostics;
using System.Runtime.InteropServices;
using KimiSharp.Quants;
using KimiSharp.Quants.Tiles;

namespace KimiSharp.Bench;

/// <summary>
/// `tiles TYPE… [--rows R] [--cols C] [--tokens T]`: single-thread throughput (GMAC/s, best of many runs) of a weight
/// matrix (default 256 rows × 2048 columns) against T (default 64) Q8_K activation rows: the codec's vec_dot per (row, token), its two-token kernel, and the tile kernels at 1, 4
/// and 8 tokens per call (weights and activations stay in L2, so this is the compute side of a prefill product).
/// </summary>
internal static unsafe class TileBench
{
    public static void Run(string[] args)
    {
        int Arg(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).Select(int.Parse).DefaultIfEmpty(fallback).First();
        int Rows = Arg("--rows", 256), Cols = Arg("--cols", 2048), Tokens = Arg("--tokens", 64);
        foreach (var t in args.TakeWhile(a => !a.StartsWith("--")).Select(Enum.Parse<GgmlType>))
        {
            var codec = QuantCodecs.GetCodec(t);
            var actType = codec.VecDotType;
            long wRow = GgmlTypes.Get(t).RowBytes(Cols), aRow = GgmlTypes.Get(actType).RowBytes(Cols);
            byte* w = (byte*)NativeMemory.AlignedAlloc((nuint)(wRow * Rows), 64);
            byte* a = (byte*)NativeMemory.AlignedAlloc((nuint)(aRow * Tokens), 64);
            float* y = (float*)NativeMemory.AlignedAlloc((nuint)(4L * Rows * Tokens), 64);
            RandomBlocks.Fill(t, new Span<byte>(w, (int)(wRow * Rows)), new Random(1), 0.05f);
            var rng = new Random(2);
            var x = new float[Cols];
            for (int k = 0; k < Tokens; k++)
            {
                for (int i = 0; i < Cols; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
                ActivationQuantizer.Quantize(actType, x, new Span<byte>(a + k * aRow, (int)aRow));
            }
            byte** ptrs = (byte**)NativeMemory.Alloc((nuint)(sizeof(byte*) * Tokens));
            float* res = (float*)NativeMemory.Alloc(4 * TileKernels.MaxTokens);
            for (int k = 0; k < Tokens; k++) ptrs[k] = a + k * aRow;
            var runs = new List<(string Name, Action Run)>
            {
                ("vec_dot", () =>
                {
                    for (int r = 0; r < Rows; r++)
                        for (int k = 0; k < Tokens; k++)
                            y[k * Rows + r] = codec.VecDot(w + r * wRow, ptrs[k], Cols);
                }),
                ("two-token", () =>
                {
                    for (int k = 0; k < Tokens; k += 2)
                        codec.VecDotRowsTwoTokens(w, wRow, ptrs[k], ptrs[k + 1], Cols, y + k * Rows, y + (k + 1) * Rows, Rows);
                }),
            };
            runs.Add(("matvec", () =>
            {
                for (int k = 0; k < Tokens; k++)
                    KimiSharp.Compute.MatMul.MatVec(t, codec, w, wRow, Rows, ptrs[k], Cols, y + k * Rows);
            }));
            if (t == GgmlType.Q4_K)
                runs.Add(("gemv8", () =>
                {
                    for (int k = 0; k < Tokens; k++)
                        for (int r = 0; r < Rows; r += 8)
                            KimiSharp.Quants.Repacked.Q4KRepackedOrder.Gemv8Rows(w + r * wRow, wRow, ptrs[k], Cols, y + k * Rows + r);
                }));
            if (TileKernels.TryGet(t, out var kernel))
                foreach (int n in new[] { 1, 4, 8 })
                    runs.Add(($"tile{n}", () =>
                    {
                        for (int k0 = 0; k0 < Tokens; k0 += n)
                            for (int r = 0; r < Rows; r++)
                            {
                                kernel.Run(w + r * wRow, ptrs + k0, n, Cols, res);
                                for (int j = 0; j < n; j++) y[(k0 + j) * Rows + r] = res[j];
                            }
                    }));
            long warm = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(warm).TotalMilliseconds < 800)
                foreach (var run in runs) run.Run();
            var best = runs.Select(_ => double.MaxValue).ToArray();
            for (int i = 0; i < 30; i++)
                for (int k = 0; k < runs.Count; k++)
                {
                    long s = Stopwatch.GetTimestamp();
                    runs[k].Run();
                    best[k] = Math.Min(best[k], Stopwatch.GetElapsedTime(s).TotalNanoseconds);
                }
            double macs = (double)Rows * Cols * Tokens;
            Console.WriteLine($"{t,-7} " + string.Join("  ", runs.Select((r, i) => $"{r.Name} {macs / best[i],5:F1}")) + " GMAC/s");
            NativeMemory.AlignedFree(w);
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(y);
            NativeMemory.Free(ptrs);
            NativeMemory.Free(res);
        }
    }
}
