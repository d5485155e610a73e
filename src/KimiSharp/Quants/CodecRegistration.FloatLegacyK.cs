namespace KimiSharp.Quants;

internal static partial class CodecRegistration
{
    /// <summary>F32, F16, BF16, the 32-wide legacy formats and the k-quants (owner: quants-a).</summary>
    public static void AddFloatLegacyAndKQuants(IQuantCodec?[] table)
    {
        _ = table;
    }
}
