namespace KimiSharp.Text;

/// <summary>
/// GPT-2's reversible byte ↔ printable-character map used by byte-level BPE vocabularies: bytes 0x21–0x7E,
/// 0xA1–0xAC and 0xAE–0xFF map to themselves; the other 68 bytes map, in increasing byte order, to U+0100, U+0101, …
/// (so ' ' → 'Ġ' U+0120 and '\n' → 'Ċ' U+010A).
/// </summary>
public static class ByteLevel
{
    private static readonly char[] ByteToCharTable = BuildByteToChar();
    private static readonly short[] CharToByteTable = BuildCharToByte(ByteToCharTable);

    /// <summary>Highest character the map produces (exclusive bound for <see cref="TryCharToByte"/> lookups).</summary>
    public const int CharLimit = 0x144;

    public static char ByteToChar(byte b) => ByteToCharTable[b];

    public static bool TryCharToByte(char c, out byte b)
    {
        if (c < CharLimit && CharToByteTable[c] >= 0)
        {
            b = (byte)CharToByteTable[c];
            return true;
        }
        b = 0;
        return false;
    }

    /// <summary>The byte-level string of some raw bytes (one char per byte).</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++) dst[i] = ByteToCharTable[src[i]];
        });
    }

    /// <summary>Raw bytes of a byte-level string; false if a char is outside the map.</summary>
    public static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = new byte[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (!TryCharToByte(text[i], out bytes[i])) return false;
        }
        return true;
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 0x100;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    private static short[] BuildCharToByte(char[] byteToChar)
    {
        var map = new short[CharLimit];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++) map[byteToChar[b]] = (short)b;
        return map;
    }
}
