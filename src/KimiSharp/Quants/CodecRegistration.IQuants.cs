using KimiSharp.Quants.IQuants;

namespace KimiSharp.Quants;

internal static partial class CodecRegistration
{
    /// <summary>The i-quants and the ternary formats (owner: quants-b).</summary>
    public static void AddIQuantsAndTernary(IQuantCodec?[] table)
    {
        foreach (var codec in IQuantCodecs.All)
            table[(int)codec.Type] = codec;
    }
}
