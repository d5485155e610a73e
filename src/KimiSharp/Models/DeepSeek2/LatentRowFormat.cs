using KimiSharp.Quants;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>
/// How one latent KV row (kv_lora_rank normalised latent values, then the roped k_pe) is stored: F32, F16 or Q8_0.
/// A Q8_0 row whose length is not a multiple of 32 is padded with zeros to whole blocks (kimi-tiny's 80-value rows
/// take 3 blocks); Kimi-K2's 576 values are exactly 18.
/// </summary>
internal static unsafe class LatentRowFormat
{
    private const int Q8Block = 32;

    public static GgmlType ElementType(KvCacheType type) => type switch
    {
        KvCacheType.F32 => GgmlType.F32,
        KvCacheType.F16 => GgmlType.F16,
        KvCacheType.Q8_0 => GgmlType.Q8_0,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static long RowBytes(KvCacheType type, int rowLength) => type switch
    {
        KvCacheType.F32 => rowLength * 4L,
        KvCacheType.F16 => rowLength * 2L,
        KvCacheType.Q8_0 => GgmlTypes.Get(GgmlType.Q8_0).RowBytes(PaddedQ8(rowLength)),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Stores <paramref name="row"/> (rowLength floats) at <paramref name="dst"/>.</summary>
    public static void Write(KvCacheType type, ReadOnlySpan<float> row, byte* dst)
    {
        int n = row.Length;
        switch (type)
        {
            case KvCacheType.F32:
                row.CopyTo(new Span<float>(dst, n));
                break;
            case KvCacheType.F16:
                var h = new Span<Half>(dst, n);
                for (int i = 0; i < n; i++)
                    h[i] = (Half)row[i];
                break;
            default:
                int padded = PaddedQ8(n);
                var bytes = new Span<byte>(dst, (int)RowBytes(type, n));
                if (padded == n)
                {
                    QuantCodecs.Quantize(GgmlType.Q8_0, row, bytes);
                    break;
                }
                Span<float> tmp = stackalloc float[padded];
                row.CopyTo(tmp);
                tmp[n..].Clear();
                QuantCodecs.Quantize(GgmlType.Q8_0, tmp, bytes);
                break;
        }
    }

    /// <summary>Decodes the row at <paramref name="src"/> into <paramref name="row"/> (rowLength floats).</summary>
    public static void Read(KvCacheType type, byte* src, Span<float> row)
    {
        int n = row.Length;
        switch (type)
        {
            case KvCacheType.F32:
                new ReadOnlySpan<float>(src, n).CopyTo(row);
                break;
            case KvCacheType.F16:
                var h = new ReadOnlySpan<Half>(src, n);
                for (int i = 0; i < n; i++)
                    row[i] = (float)h[i];
                break;
            default:
                int padded = PaddedQ8(n);
                var bytes = new ReadOnlySpan<byte>(src, (int)RowBytes(type, n));
                if (padded == n)
                {
                    QuantCodecs.Dequantize(GgmlType.Q8_0, bytes, row);
                    break;
                }
                Span<float> tmp = stackalloc float[padded];
                QuantCodecs.Dequantize(GgmlType.Q8_0, bytes, tmp);
                tmp[..n].CopyTo(row);
                break;
        }
    }

    private static int PaddedQ8(int n) => (n + Q8Block - 1) / Q8Block * Q8Block;
}
