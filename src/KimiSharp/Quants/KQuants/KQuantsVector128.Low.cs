using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static KimiSharp.Quants.Vector128IntDot;

namespace KimiSharp.Quants;

/// <summary>Q2_K, Q3_K and Q5_K on the portable Vector128 path (see <see cref="KQuantsVector128"/>).</summary>
internal static unsafe partial class KQuantsVector128
{
    /// <summary>Q2_K · Q8_K (<see cref="Q2_KCodec"/>): Σ d_a·(d·Σ_j (sc_j&amp;15)·Σ q·y − dmin·Σ_j (sc_j&gt;&gt;4)·bsum_j).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q2_K(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector128<float>.Zero;
        var accMin = Vector128<float>.Zero;
        var mask2 = Vector128.Create((byte)3);
        for (int b = 0; b < n / 256; b++, w += 84, a += 292)
        {
            float da = *(float*)a;
            // min term: mins ≤ 15, |bsum| ≤ 2048, so each 16-bit product fits
            var mins = Vector128.ShiftRightLogical(Vector128.Load(w).AsUInt16(), 4).AsByte() & Vector128.Create((byte)0x0F);
            var bsums = (short*)(a + 260);
            var prodMin = Vector128.WidenLower(mins).AsInt16() * Vector128.Load(bsums) + Vector128.WidenUpper(mins).AsInt16() * Vector128.Load(bsums + 8);
            accMin = Accumulate(accMin, da * f16[*(ushort*)(w + 82)], PairSum(prodMin));

            byte* q2 = w + 16;
            sbyte* y = (sbyte*)(a + 4);
            byte* sc = w;
            var sumi = Vector128<int>.Zero;
            for (int h = 0; h < 2; h++, q2 += 32)
            {
                var bits0 = Vector128.Load(q2).AsUInt16();
                var bits1 = Vector128.Load(q2 + 16).AsUInt16();
                for (int shift = 0; shift < 8; shift += 2, y += 32, sc += 2)
                {
                    // sub-blocks of 16: elements 0..15 (bits0) and 16..31 (bits1) of this 2-bit plane. A lane
                    // (2 products ≤ 2·3·128) times its scale (≤ 15) is ≤ 11520, so the two scaled lanes add in 16 bits.
                    var s1 = MulAddUnsigned((bits0 >>> shift).AsByte() & mask2, Vector128.Load(y));
                    var s2 = MulAddUnsigned((bits1 >>> shift).AsByte() & mask2, Vector128.Load(y + 16));
                    sumi += PairSum(s1 * Vector128.Create((short)(sc[0] & 0xF)) + s2 * Vector128.Create((short)(sc[1] & 0xF)));
                }
            }
            acc = Accumulate(acc, da * f16[*(ushort*)(w + 80)], sumi);
        }
        return Vector128.Sum(acc) - Vector128.Sum(accMin);
    }

    /// <summary>
    /// Q3_K · Q8_K (<see cref="Q3_KCodec"/>): per 16-element sub-block j, sc_j·Σ q·y with
    /// q = (2 low bits) − 4·(1 − hmask bit) ∈ [−4, 3] and sc_j the six-bit scale − 32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q3_K(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector128<float>.Zero;
        var mask2 = Vector128.Create((byte)3);
        var four = Vector128.Create((byte)4);
        sbyte* scales = stackalloc sbyte[16];
        for (int b = 0; b < n / 256; b++, w += 110, a += 292)
        {
            Q3Scales(w + 96, scales);
            // hmask bit m (chunk m of 32 elements) says "no −4"; the complement is moved to bit 2 below
            var nh0 = ~Vector128.Load(w).AsUInt16();
            var nh1 = ~Vector128.Load(w + 16).AsUInt16();
            byte* q = w + 32;
            sbyte* y = (sbyte*)(a + 4);
            sbyte* sc = scales;
            var sumi = Vector128<int>.Zero;
            int m = 0;
            for (int h = 0; h < 2; h++, q += 32)
            {
                var bits0 = Vector128.Load(q).AsUInt16();
                var bits1 = Vector128.Load(q + 16).AsUInt16();
                for (int shift = 0; shift < 8; shift += 2, m++, y += 32, sc += 2)
                {
                    var q0 = ((bits0 >>> shift).AsByte() & mask2) - (MoveBitTo2(nh0, m) & four);
                    var q1 = ((bits1 >>> shift).AsByte() & mask2) - (MoveBitTo2(nh1, m) & four);
                    // a lane (2 products, in [−1016, 1024]) times its scale ([−32, 31]) lies in [−32768, 32512]: 16 bits suffice
                    var s1 = MulAddSigned(q0.AsSByte(), Vector128.Load(y)) * Vector128.Create((short)sc[0]);
                    var s2 = MulAddSigned(q1.AsSByte(), Vector128.Load(y + 16)) * Vector128.Create((short)sc[1]);
                    sumi += PairSum(s1) + PairSum(s2);
                }
            }
            acc = Accumulate(acc, *(float*)a * f16[*(ushort*)(w + 108)], sumi);
        }
        return Vector128.Sum(acc);
    }

    /// <summary>Bit <paramref name="m"/> of each byte at bit 2 (16-bit shifts; the caller masks bit 2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> MoveBitTo2(Vector128<ushort> v, int m) =>
        (m >= 2 ? v >>> (m - 2) : v << (2 - m)).AsByte();

    /// <summary>Q3_K's 16 six-bit scales minus 32 (low 4 bits in bytes 0..7, high 2 bits in bytes 8..11).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q3Scales(byte* packed, sbyte* scales16)
    {
        const uint low4 = 0x0F0F0F0F, low2 = 0x03030303;
        uint a0 = *(uint*)packed, a1 = *(uint*)(packed + 4), tmp = *(uint*)(packed + 8);
        var v = Vector128.Create(
            (a0 & low4) | ((tmp & low2) << 4),                 // scales 0..3
            (a1 & low4) | (((tmp >> 2) & low2) << 4),          // scales 4..7
            ((a0 >> 4) & low4) | (((tmp >> 4) & low2) << 4),   // scales 8..11
            ((a1 >> 4) & low4) | (((tmp >> 6) & low2) << 4)).AsByte(); // scales 12..15
        (v - Vector128.Create((byte)32)).AsSByte().Store(scales16);
    }

    /// <summary>Q5_K · Q8_K (<see cref="Q5_KCodec"/>): Q4_K's sums with a fifth bit from qh (chunk c: bits 2c and 2c+1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_K(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector128<float>.Zero;
        var accMin = Vector128<float>.Zero;
        var bit4 = Vector128.Create((byte)0x10);
        for (int b = 0; b < n / 256; b++, w += 176, a += 292)
        {
            float da = *(float*)a;
            ulong scales = ScalesMins6(w + 4, out var minsLow, out var minsHigh);
            var bsums = (short*)(a + 260);
            var summ = minsLow * PairSum(Vector128.Load(bsums)) + minsHigh * PairSum(Vector128.Load(bsums + 8));
            accMin = Accumulate(accMin, da * f16[*(ushort*)(w + 2)], summ);

            var qh0 = Vector128.Load(w + 16).AsUInt16();
            var qh1 = Vector128.Load(w + 32).AsUInt16();
            byte* q = w + 48;
            sbyte* y = (sbyte*)(a + 4);
            var sumi = Vector128<int>.Zero;
            for (int c = 0; c < 4; c++, q += 32, y += 64, scales >>= 16)
            {
                var b0 = Vector128.Load(q);
                var b1 = Vector128.Load(q + 16);
                // qh bit 2c (low-nibble half) and 2c+1 (high-nibble half) moved to bit 4 of the same byte
                var lo0 = LowNibbles(b0) | (MoveBitTo4(qh0, 2 * c) & bit4);
                var lo1 = LowNibbles(b1) | (MoveBitTo4(qh1, 2 * c) & bit4);
                var hi0 = HighNibbles(b0) | (MoveBitTo4(qh0, 2 * c + 1) & bit4);
                var hi1 = HighNibbles(b1) | (MoveBitTo4(qh1, 2 * c + 1) & bit4);
                // lanes: sums of 4 products q·y, q ≤ 31 (≤ 4·31·128)
                var lo = MulAddUnsigned(lo0, Vector128.Load(y)) + MulAddUnsigned(lo1, Vector128.Load(y + 16));
                var hi = MulAddUnsigned(hi0, Vector128.Load(y + 32)) + MulAddUnsigned(hi1, Vector128.Load(y + 48));
                sumi += PairSum(lo) * Vector128.Create((int)(scales & 0xFF)) + PairSum(hi) * Vector128.Create((int)((scales >> 8) & 0xFF));
            }
            acc = Accumulate(acc, da * f16[*(ushort*)w], sumi);
        }
        return Vector128.Sum(acc) - Vector128.Sum(accMin);
    }

    /// <summary>Bit <paramref name="m"/> of each byte at bit 4 (16-bit shifts; the caller masks bit 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> MoveBitTo4(Vector128<ushort> v, int m) =>
        (m >= 4 ? v >>> (m - 4) : v << (4 - m)).AsByte();
}
