using BenchmarkDotNet.Attributes;
using KimiSharp.Quants;
using KimiSharp.Tests.Quants;

namespace KimiSharp.Bench;

/// <summary>
/// Single-thread mat-vec: every row of a ~2 MiB weight matrix (4096 columns) dotted with one quantized activation row,
/// ours (QuantCodecs' kernel on this machine's best path) and ggml-cpu's vec_dot on the same bytes.
/// Throughput = weight bytes / time (the report converts it to GB/s).
/// </summary>
[Config(typeof(BenchConfig))]
public unsafe class MatVecBench : IDisposable
{
    public const int Cols = 4096;
    public const long TargetBytes = 2 << 20;

    public static IEnumerable<GgmlType> Types =>
    [
        GgmlType.Q4_K, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_0,
        GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.F16, GgmlType.BF16, GgmlType.F32,
    ];

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    private NativeBuffer? weights, activations;
    private int rows;
    private long rowBytes;
    private IQuantCodec codec = null!;
    private delegate* unmanaged<int, float*, nuint, void*, nuint, void*, nuint, int, void> ggml;

    public long WeightBytes => rows * rowBytes;

    [GlobalSetup]
    public void Setup()
    {
        codec = QuantCodecs.GetCodec(Type);
        rowBytes = GgmlTypes.Get(Type).RowBytes(Cols);
        rows = (int)(TargetBytes / rowBytes);
        weights = new NativeBuffer(rows * rowBytes);
        BlockData.Random(Type, rows * Cols, 1, 0.05f).CopyTo(new Span<byte>(weights.Pointer, (int)weights.Bytes));
        var act = codec.VecDotType;
        var x = new float[Cols];
        var rng = new Random(2);
        for (int i = 0; i < Cols; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        activations = new NativeBuffer(GgmlTypes.Get(act).RowBytes(Cols));
        ActivationQuantizer.Quantize(act, x, new Span<byte>(activations.Pointer, (int)activations.Bytes));
        ggml = GgmlOracle.VecDotFunction(Type);
    }

    [Benchmark(Baseline = true)]
    public float Ggml()
    {
        float total = 0, s;
        byte* w = weights!.Pointer, a = activations!.Pointer;
        for (int r = 0; r < rows; r++)
        {
            ggml(Cols, &s, 0, w + r * rowBytes, 0, a, 0, 1);
            total += s;
        }
        return total;
    }

    [Benchmark]
    public float Ours()
    {
        float total = 0;
        byte* w = weights!.Pointer, a = activations!.Pointer;
        for (int r = 0; r < rows; r++)
            total += codec.VecDot(w + r * rowBytes, a, Cols);
        return total;
    }

    [GlobalCleanup]
    public void Dispose()
    {
        weights?.Dispose();
        activations?.Dispose();
    }
}
