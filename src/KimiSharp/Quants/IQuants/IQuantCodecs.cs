namespace KimiSharp.Quants.IQuants;

/// <summary>One instance of every i-quant and ternary codec.</summary>
internal static class IQuantCodecs
{
    public static IReadOnlyList<IQuantCodecBase> All { get; } =
    [
        new Iq1SCodec(),
        new Iq1MCodec(),
        new Iq2XxsCodec(),
        new Iq2XsCodec(),
        new Iq2SCodec(),
        new Iq3XxsCodec(),
        new Iq3SCodec(),
        new Iq4NlCodec(),
        new Iq4XsCodec(),
        new Tq1Codec(),
        new Tq2Codec(),
    ];

    public static IQuantCodecBase Get(GgmlType type) =>
        All.FirstOrDefault(c => c.Type == type) ?? throw new NotSupportedException($"{type} is not an i-quant or ternary type");
}
