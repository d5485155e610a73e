using System.Globalization;

namespace KimiSharp.Text;

/// <summary>
/// Per-code-point character classes used by the pre-tokenizers: Unicode general category groups (from .NET's
/// Unicode tables), White_Space, and Script=Han (generated table). The BMP is precomputed into a 64 K table.
/// </summary>
internal static class CodePointClass
{
    public const byte Letter = 1;        // \p{L}
    public const byte Number = 2;        // \p{N}
    public const byte Mark = 4;          // \p{M}
    public const byte Whitespace = 8;    // \s (Unicode White_Space)
    public const byte Han = 16;          // \p{Han} (Script=Han)
    public const byte UpperLike = 32;    // \p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}
    public const byte LowerLike = 64;    // \p{Ll}\p{Lm}\p{Lo}\p{M}
    public const byte Punctuation = 128; // \p{P}

    private static readonly byte[] Bmp = BuildBmp();

    public static byte Of(int cp) => cp < 0x10000 ? Bmp[cp] : Compute(cp);

    private static byte[] BuildBmp()
    {
        var table = new byte[0x10000];
        for (int cp = 0; cp < table.Length; cp++) table[cp] = Compute(cp);
        return table;
    }

    private static byte Compute(int cp)
    {
        if (cp is >= 0xD800 and <= 0xDFFF) return 0; // lone surrogates: category Cs
        byte flags = 0;
        switch (CharUnicodeInfo.GetUnicodeCategory(cp))
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
                flags = Letter | UpperLike;
                break;
            case UnicodeCategory.LowercaseLetter:
                flags = Letter | LowerLike;
                break;
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
                flags = Letter | UpperLike | LowerLike;
                break;
            case UnicodeCategory.NonSpacingMark:
            case UnicodeCategory.SpacingCombiningMark:
            case UnicodeCategory.EnclosingMark:
                flags = Mark | UpperLike | LowerLike;
                break;
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.OtherNumber:
                flags = Number;
                break;
            case UnicodeCategory.ConnectorPunctuation:
            case UnicodeCategory.DashPunctuation:
            case UnicodeCategory.OpenPunctuation:
            case UnicodeCategory.ClosePunctuation:
            case UnicodeCategory.InitialQuotePunctuation:
            case UnicodeCategory.FinalQuotePunctuation:
            case UnicodeCategory.OtherPunctuation:
                flags = Punctuation;
                break;
        }
        if (IsWhiteSpace(cp)) flags |= Whitespace;
        if (HanScript.Contains(cp)) flags |= Han;
        return flags;
    }

    /// <summary>Unicode White_Space property (what \s means in Rust's and Python's regex).</summary>
    public static bool IsWhiteSpace(int cp) => cp switch
    {
        >= 0x09 and <= 0x0D => true,
        0x20 or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A => true,
        0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };
}
