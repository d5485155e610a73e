using BenchmarkDotNet.Attributes;
using KimiSharp.Quants;
using KimiSharp.Tests.Quants;

namespace KimiSharp.Bench;

/// <summary>
/// Single-thread mat-vec: every row of a ~2 MiB weight matrix dotted with one quantized activation row, ours (the
/// registered codec's best kernel, as MatMul calls it) and ggml-cpu's vec_dot on the same bytes.
/// Throughput = weight bytes / time. Subclasses choose the types, the row length and how weights are drawn.
/// </summary>
public abstract unsafe class MatVecBenchBase : IDisposable
{
    public const long TargetBytes = 2 << 20;

    public abstract GgmlType Type { get; set; }

    protected abstract int Columns { get; }

    private NativeBuffer? weights, activations;
    private int rows;
    private long rowBytes;
    private IQuantCodec codec = null!;
    private float[] output = [];
    private delegate* unmanaged<int, float*, nuint, void*, nuint, void*, nuint, int, void> ggml;

    public long WeightBytes => rows * rowBytes;

    /// <summary>The benchmark for a type: valid random i-quant blocks (7168 columns) or the float/legacy/k-quant one.</summary>
    public static MatVecBenchBase For(GgmlType type) =>
        IQuants.IQuantMatVecBench.Types.Contains(type) ? new IQuants.IQuantMatVecBench { Type = type } : new MatVecBench { Type = type };

    /// <summary>Random weight blocks of <see cref="Type"/> for <paramref name="elements"/> elements.</summary>
    protected abstract void FillWeights(Span<byte> destination, int elements);

    [GlobalSetup]
    public void Setup()
    {
        codec = QuantCodecs.GetCodec(Type);
        rowBytes = GgmlTypes.Get(Type).RowBytes(Columns);
        rows = (int)(TargetBytes / rowBytes);
        weights = new NativeBuffer(rows * rowBytes);
        output = new float[rows];
        FillWeights(new Span<byte>(weights.Pointer, (int)weights.Bytes), rows * Columns);
        var act = codec.VecDotType;
        var x = new float[Columns];
        var rng = new Random(2);
        for (int i = 0; i < Columns; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        activations = new NativeBuffer(GgmlTypes.Get(act).RowBytes(Columns));
        ActivationQuantizer.Quantize(act, x, new Span<byte>(activations.Pointer, (int)activations.Bytes));
        ggml = GgmlOracle.VecDotFunction(Type);
    }

    [Benchmark(Baseline = true)]
    public float Ggml()
    {
        float total = 0, s;
        byte* w = weights!.Pointer, a = activations!.Pointer;
        int n = Columns;
        for (int r = 0; r < rows; r++)
        {
            ggml(n, &s, 0, w + r * rowBytes, 0, a, 0, 1);
            total += s;
        }
        return total;
    }

    /// <summary>Our mat-vec over the same rows: the codec's multi-row kernel (<see cref="IQuantCodec.VecDotRows"/>), as MatMul calls it.</summary>
    [Benchmark]
    public float Ours()
    {
        float total = 0;
        fixed (float* y = output)
        {
            codec.VecDotRows(weights!.Pointer, rowBytes, activations!.Pointer, Columns, y, rows);
            for (int r = 0; r < rows; r++)
                total += y[r];
        }
        return total;
    }

    /// <summary>One kernel over every row (for `kernels`: any dot function on the same data).</summary>
    public float Each(Func<nint, nint, int, float> dot)
    {
        float total = 0;
        byte* w = weights!.Pointer, a = activations!.Pointer;
        for (int r = 0; r < rows; r++)
            total += dot((nint)(w + r * rowBytes), (nint)a, Columns);
        return total;
    }

    [GlobalCleanup]
    public void Dispose()
    {
        weights?.Dispose();
        activations?.Dispose();
        GC.SuppressFinalize(this);
    }
}
