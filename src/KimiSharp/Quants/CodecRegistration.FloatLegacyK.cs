namespace KimiSharp.Quants;

internal static partial class CodecRegistration
{
    /// <summary>F32, F16, BF16, the 32-wide legacy formats and the k-quants (owner: quants-a).</summary>
    public static void AddFloatLegacyAndKQuants(IQuantCodec?[] table)
    {
        IQuantCodec[] codecs =
        [
            new F32Codec(), new F16Codec(), new BF16Codec(),
            new Q4_0Codec(), new Q4_1Codec(), new Q5_0Codec(), new Q5_1Codec(), new Q8_0Codec(), new Q8_1Codec(),
            new Q2_KCodec(), new Q3_KCodec(), new Q4_KCodec(), new Q5_KCodec(), new Q6_KCodec(), new Q8_KCodec(),
        ];
        foreach (var c in codecs)
            table[(int)c.Type] = c;
    }
}
