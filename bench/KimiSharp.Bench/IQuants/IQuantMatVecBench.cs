using BenchmarkDotNet.Attributes;
using KimiSharp.Quants;

namespace KimiSharp.Bench.IQuants;

/// <summary>
/// Single-thread mat-vec for the i-quant and ternary types (7168 columns, Kimi-K2's hidden size), ours vs ggml's
/// vec_dot. Run with --filter *IQuantMatVec*.
/// </summary>
[Config(typeof(BenchConfig))]
public class IQuantMatVecBench : MatVecBenchBase
{
    public const int Cols = 7168;

    public static IEnumerable<GgmlType> Types =>
    [
        GgmlType.IQ2_XXS, GgmlType.IQ1_S, GgmlType.IQ3_XXS, GgmlType.IQ4_XS, GgmlType.IQ1_M, GgmlType.IQ2_XS,
        GgmlType.IQ2_S, GgmlType.IQ3_S, GgmlType.IQ4_NL, GgmlType.TQ1_0, GgmlType.TQ2_0,
    ];

    [ParamsSource(nameof(Types))]
    public override GgmlType Type { get; set; }

    protected override int Columns => Cols;

    protected override void FillWeights(Span<byte> destination, int elements) =>
        RandomBlocks.Fill(Type, destination, new Random(1), 0.05f);
}
