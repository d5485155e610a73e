namespace KimiSharp.Grammar;

/// <summary>
/// Splits a range of scalar values into byte-range sequences whose concatenations are exactly their UTF-8
/// encodings (the construction regex engines use, e.g. Rust's utf8-ranges): [U+0080, U+07FF] becomes
/// [C2-DF][80-BF], and ranges that do not align with continuation-byte boundaries are split until they do.
/// </summary>
public static class Utf8Sequences
{
    /// <summary>Appends the sequences (each 1–4 inclusive byte ranges) covering [lo, hi] (surrogates skipped).</summary>
    public static void Split(int lo, int hi, List<(byte Lo, byte Hi)[]> output)
    {
        if (lo > hi) return;
        if (lo <= 0xDFFF && hi >= 0xD800)
        {
            // Surrogates have no encoding.
            Split(lo, 0xD7FF, output);
            Split(0xE000, hi, output);
            return;
        }
        foreach (int boundary in (ReadOnlySpan<int>)[0x7F, 0x7FF, 0xFFFF])
        {
            if (lo <= boundary && boundary < hi)
            {
                Split(lo, boundary, output);
                Split(boundary + 1, hi, output);
                return;
            }
        }
        if (hi < 0x80)
        {
            output.Add([((byte)lo, (byte)hi)]);
            return;
        }
        for (int i = 1; i <= 3; i++)
        {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m))
            {
                if ((lo & m) != 0)
                {
                    Split(lo, lo | m, output);
                    Split((lo | m) + 1, hi, output);
                    return;
                }
                if ((hi & m) != m)
                {
                    Split(lo, (hi & ~m) - 1, output);
                    Split(hi & ~m, hi, output);
                    return;
                }
            }
        }
        Span<byte> a = stackalloc byte[4], b = stackalloc byte[4];
        int n = Encode(lo, a);
        Encode(hi, b);
        var seq = new (byte, byte)[n];
        for (int i = 0; i < n; i++) seq[i] = (a[i], b[i]);
        output.Add(seq);
    }

    /// <summary>UTF-8 bytes of one scalar value; returns the length.</summary>
    public static int Encode(int c, Span<byte> output)
    {
        if (c < 0x80) { output[0] = (byte)c; return 1; }
        if (c < 0x800)
        {
            output[0] = (byte)(0xC0 | (c >> 6));
            output[1] = (byte)(0x80 | (c & 0x3F));
            return 2;
        }
        if (c < 0x10000)
        {
            output[0] = (byte)(0xE0 | (c >> 12));
            output[1] = (byte)(0x80 | ((c >> 6) & 0x3F));
            output[2] = (byte)(0x80 | (c & 0x3F));
            return 3;
        }
        output[0] = (byte)(0xF0 | (c >> 18));
        output[1] = (byte)(0x80 | ((c >> 12) & 0x3F));
        output[2] = (byte)(0x80 | ((c >> 6) & 0x3F));
        output[3] = (byte)(0x80 | (c & 0x3F));
        return 4;
    }
}
