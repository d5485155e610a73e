using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using KimiSharp.Quants;

namespace KimiSharp.Compute;

/// <summary>
/// Decodes cached KV rows to floats, a block at a time, for the attention kernel: F16 (exact) and Q8_0 (d·q per
/// 32-value block). AVX2 where present, scalar otherwise; both give the same floats.
/// </summary>
internal static unsafe class KvRowDecoder
{
    /// <summary>Values a stored row of <paramref name="rowLength"/> holds: Q8_0 rows are padded to whole 32-value blocks.</summary>
    public static int StoredLength(GgmlType type, int rowLength) => type == GgmlType.Q8_0 ? (rowLength + 31) / 32 * 32 : rowLength;

    /// <summary>One stored row → floats: <see cref="StoredLength"/> values for Q8_0 (padding included), else rowLength.</summary>
    public static void Decode(GgmlType type, byte* src, float* dst, int rowLength)
    {
        switch (type)
        {
            case GgmlType.F32:
                new ReadOnlySpan<float>(src, rowLength).CopyTo(new Span<float>(dst, rowLength));
                break;
            case GgmlType.F16:
                HalfToSingle((ushort*)src, dst, rowLength);
                break;
            case GgmlType.Q8_0:
                Q8_0ToSingle(src, dst, StoredLength(type, rowLength));
                break;
            default:
                throw new ArgumentException($"KV rows are F32, F16 or Q8_0, not {type}", nameof(type));
        }
    }

    /// <summary>2¹¹², which rebiases a half's exponent (15) to a float's (127).</summary>
    private static readonly float HalfRebias = BitConverter.Int32BitsToSingle(0x77800000);

    /// <summary>
    /// n halves → floats. Vectorised (.NET exposes no F16C): the half's exponent and mantissa shifted into a float's
    /// places read as a float of value h·2⁻¹¹², times 2¹¹² (exact for normal and subnormal halves); Inf/NaN
    /// (exponent 31) get exponent 255 instead, NaNs quieted as vcvtph2ps does; then the sign.
    /// </summary>
    public static void HalfToSingle(ushort* src, float* dst, int n)
    {
        int i = 0;
        if (Avx2.IsSupported)
        {
            var rebias = Vector256.Create(HalfRebias);
            var magnitude = Vector256.Create(0x7FFFu);
            var signBit = Vector256.Create(0x8000u);
            var infNanFrom = Vector256.Create(0x0F800000);
            var infNanExponent = Vector256.Create(0x70000000u);
            var quietBit = Vector256.Create(0x00400000u);
            for (; i + 8 <= n; i += 8)
            {
                var h = Avx2.ConvertToVector256Int32(src + i).AsUInt32();
                var em = Vector256.ShiftLeft(h & magnitude, 13);
                var finite = (em.AsSingle() * rebias).AsUInt32();
                var special = Vector256.GreaterThanOrEqual(em.AsInt32(), infNanFrom).AsUInt32();
                var quiet = Vector256.GreaterThan(em.AsInt32(), infNanFrom).AsUInt32() & quietBit;
                var bits = Vector256.ConditionalSelect(special, (em + infNanExponent) | quiet, finite);
                (bits | Vector256.ShiftLeft(h & signBit, 16)).AsSingle().Store(dst + i);
            }
        }
        for (; i < n; i++)
            dst[i] = Fp16.ToFloat(src[i]);
    }

    /// <summary>A Q8_0 row of n values (n/32 blocks of an F16 scale d and 32 int8 q) → d·q.</summary>
    public static void Q8_0ToSingle(byte* src, float* dst, int n)
    {
        const int blockBytes = 34;
        for (int b = 0; b < n / 32; b++, src += blockBytes, dst += 32)
        {
            float d = Fp16.ToFloat(*(ushort*)src);
            sbyte* q = (sbyte*)(src + 2);
            if (Avx2.IsSupported)
            {
                var vd = Vector256.Create(d);
                for (int k = 0; k < 32; k += 8)
                    (Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + k)) * vd).Store(dst + k);
            }
            else
            {
                for (int k = 0; k < 32; k++)
                    dst[k] = q[k] * d;
            }
        }
    }
}
