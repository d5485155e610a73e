using BenchmarkDotNet.Attributes;
using KimiSharp.Quants;
using KimiSharp.Tests.Quants;

namespace KimiSharp.Bench;

/// <summary>Single-thread mat-vec for the float, legacy and k-quant types (4096 columns), ours vs ggml's vec_dot.</summary>
[Config(typeof(BenchConfig))]
public class MatVecBench : MatVecBenchBase
{
    public const int Cols = 4096;

    public static IEnumerable<GgmlType> Types =>
    [
        GgmlType.Q4_K, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_0,
        GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.F16, GgmlType.BF16, GgmlType.F32,
    ];

    [ParamsSource(nameof(Types))]
    public override GgmlType Type { get; set; }

    protected override int Columns => Cols;

    protected override void FillWeights(Span<byte> destination, int elements) =>
        BlockData.Random(Type, elements, 1, 0.05f).CopyTo(destination);
}
