using System.Diagnostics;
using KimiSharp.Quants;
using KimiSharp.Tests.Quants;

namespace KimiSharp.Bench;

/// <summary>
/// `dram TYPE…`: single-thread mat-vec over a ~116 MB matrix (weights streaming from DRAM): per-row VecDot, VecDotRows, MatMul's
/// default path (llama.cpp's repacked-kernel order where it repacks the type; activations quantized per call), and the fast path's mat-vec.
/// </summary>
internal static unsafe class DramProbe
{
    /// <summary>Matrix size (KIMI_BENCH_MB, default 116 MB; a few MB keeps it in cache for comparison).</summary>
    private static readonly long MegaBytes = long.Parse(Environment.GetEnvironmentVariable("KIMI_BENCH_MB") ?? "116");

    public static void Run(GgmlType type)
    {
        const int cols = 7168;
        long rowBytes = GgmlTypes.Get(type).RowBytes(cols);
        int rows = (int)(MegaBytes * 1_000_000 / rowBytes) / 1024 * 1024;
        using var w = new NativeBuffer(rows * rowBytes);
        for (int r = 0; r < rows; r += 1024)
        {
            var chunk = new Span<byte>(w.Pointer + r * rowBytes, (int)(1024 * rowBytes));
            if (IQuants.IQuantMatVecBench.Types.Contains(type))
                RandomBlocks.Fill(type, chunk, new Random(r), 0.05f); // valid i-quant blocks (finite scales)
            else
                BlockData.Random(type, 1024 * cols, r, 0.05f).CopyTo(chunk);
        }
        var codec = QuantCodecs.GetCodec(type);
        var x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float)Math.Sin(i);
        using var actBuf = new NativeBuffer(GgmlTypes.Get(codec.VecDotType).RowBytes(cols));
        ActivationQuantizer.Quantize(codec.VecDotType, x, new Span<byte>(actBuf.Pointer, (int)actBuf.Bytes));
        using var yBuf = new NativeBuffer(rows * 4);
        byte* a = actBuf.Pointer;
        float* py = (float*)yBuf.Pointer;
        using var pool = new KimiSharp.Compute.WorkerPool(1);
        var kernels = new (string, Action)[]
        {
            ("VecDot per row", () => { for (int r = 0; r < rows; r++) py[r] = codec.VecDot(w.Pointer + r * rowBytes, a, cols); }),
            ("VecDotRows", () => codec.VecDotRows(w.Pointer, rowBytes, a, cols, py, rows)),
            ("MatMul default", () => KimiSharp.Compute.MatMul.Multiply(new KimiSharp.Compute.QuantMatrix(w.Pointer, type, rows, cols), x, 1,
                new Span<float>(py, rows), pool)),
            ("MatVec fast", () => KimiSharp.Compute.MatMul.MatVec(type, codec, w.Pointer, rowBytes, rows, a, cols, py)),
        };
        var best = new double[kernels.Length];
        Array.Fill(best, double.MaxValue);
        for (int i = 0; i < (MegaBytes < 32 ? 200 : 8); i++)
            for (int k = 0; k < kernels.Length; k++)
            {
                long s = Stopwatch.GetTimestamp();
                kernels[k].Item2();
                best[k] = Math.Min(best[k], Stopwatch.GetElapsedTime(s).TotalNanoseconds);
            }
        Console.WriteLine($"{type,-6} {rows * rowBytes / 1e6:F0} MB, 1 thread: " +
            string.Join(", ", kernels.Select((k, i) => $"{k.Item1} {rows * rowBytes / best[i]:F1} GB/s")));
    }
}
