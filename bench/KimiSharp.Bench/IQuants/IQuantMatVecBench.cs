using BenchmarkDotNet.Attributes;
using KimiSharp.Quants;
using KimiSharp.Tests.Quants;

namespace KimiSharp.Bench.IQuants;

/// <summary>
/// Single-thread mat-vec for the i-quant and ternary types: every row of a ~2 MiB weight matrix (7168 columns,
/// Kimi-K2's hidden size) dotted with one quantized activation row, ours (the registered codec's best kernel, as MatMul calls it) and ggml-cpu's
/// vec_dot on the same bytes. Throughput = weight bytes / time. Run with --filter *IQuantMatVec*.
/// </summary>
[Config(typeof(BenchConfig))]
public unsafe class IQuantMatVecBench : IDisposable
{
    public const int Cols = 7168;
    public const long TargetBytes = 2 << 20;

    public static IEnumerable<GgmlType> Types =>
    [
        GgmlType.IQ2_XXS, GgmlType.IQ1_S, GgmlType.IQ3_XXS, GgmlType.IQ4_XS, GgmlType.IQ1_M, GgmlType.IQ2_XS,
        GgmlType.IQ2_S, GgmlType.IQ3_S, GgmlType.IQ4_NL, GgmlType.TQ1_0, GgmlType.TQ2_0,
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
        RandomBlocks.Fill(Type, new Span<byte>(weights.Pointer, (int)weights.Bytes), new Random(1), 0.05f);
        var act = QuantCodecs.VecDotType(Type);
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
