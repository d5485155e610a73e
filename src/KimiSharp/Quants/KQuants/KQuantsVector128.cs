using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static KimiSharp.Quants.Vector128IntDot;

namespace KimiSharp.Quants;

/// <summary>
/// Portable Vector128 dot products of the k-quants with Q8_K activations (NEON on ARM64, SSE on x86), for CPUs
/// without AVX2. Integer sums per block are exact (as the scalar kernels'); the per-block float products are
/// accumulated in 4 lanes and summed at the end. Block layouts are described on each codec.
/// </summary>
internal static unsafe partial class KQuantsVector128
{
    /// <summary>Q4_K · Q8_K (<see cref="Q4_KCodec"/>): Σ d_a·(d·Σ_j sc_j·Σ q·y − dmin·Σ_j m_j·(bsum pair j)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_K(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector128<float>.Zero;
        var accMin = Vector128<float>.Zero;
        var nibble = Vector128.Create((short)0x0F);
        for (int b = 0; b < n / 256; b++, w += 144, a += 292)
        {
            float da = *(float*)a;
            ulong scales = ScalesMins6(w + 4, out var minsLow, out var minsHigh);
            var bsums = (short*)(a + 260);
            var summ = minsLow * PairSum(Vector128.Load(bsums)) + minsHigh * PairSum(Vector128.Load(bsums + 8));
            accMin = Accumulate(accMin, da * f16[*(ushort*)(w + 2)], summ);

            byte* q = w + 16;
            sbyte* y = (sbyte*)(a + 4);
            var sumi = Vector128<int>.Zero;
            for (int c = 0; c < 4; c++, q += 32, y += 64, scales >>= 16)
            {
                // 16-bit lane k of b holds bytes 2k (bits 0..7) and 2k+1 (bits 8..15): four nibbles
                var b0 = Vector128.Load((short*)q);
                var b1 = Vector128.Load((short*)(q + 16));
                // lanes: sums of 4 products nibble·y (≤ 4·15·128)
                var lo = MulAddEvenOdd(b0 & nibble, (b0 >>> 8) & nibble, Vector128.Load(y)) + MulAddEvenOdd(b1 & nibble, (b1 >>> 8) & nibble, Vector128.Load(y + 16));
                var hi = MulAddEvenOdd((b0 >>> 4) & nibble, b0 >>> 12, Vector128.Load(y + 32)) + MulAddEvenOdd((b1 >>> 4) & nibble, b1 >>> 12, Vector128.Load(y + 48));
                sumi += PairSum(lo) * Vector128.Create((int)(scales & 0xFF)) + PairSum(hi) * Vector128.Create((int)((scales >> 8) & 0xFF));
            }
            acc = Accumulate(acc, da * f16[*(ushort*)w], sumi);
        }
        return Vector128.Sum(acc) - Vector128.Sum(accMin);
    }

    /// <summary>
    /// Q4_K/Q5_K's 12 packed bytes: the 8 six-bit scales as the bytes of the returned ulong (scale j in byte j),
    /// the 8 mins as ints (0..3 in <paramref name="minsLow"/>, 4..7 in <paramref name="minsHigh"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ScalesMins6(byte* packed, out Vector128<int> minsLow, out Vector128<int> minsHigh)
    {
        const uint low6 = 0x3F3F3F3F, low4 = 0x0F0F0F0F, low2 = 0x03030303;
        uint u0 = *(uint*)packed, u1 = *(uint*)(packed + 4), u2 = *(uint*)(packed + 8);
        uint scales0 = u0 & low6;                                      // scales 0..3: low 6 bits of bytes 0..3
        uint scales1 = (u2 & low4) | (((u0 >> 6) & low2) << 4);       // scales 4..7: nibble of bytes 8..11 + top bits of 0..3
        uint mins0 = u1 & low6;                                        // mins 0..3: low 6 bits of bytes 4..7
        uint mins1 = ((u2 >> 4) & low4) | (((u1 >> 6) & low2) << 4);  // mins 4..7: high nibble of 8..11 + top bits of 4..7
        var m16 = Vector128.WidenLower(Vector128.Create(mins0, mins1, 0, 0).AsByte());
        minsLow = Vector128.WidenLower(m16).AsInt32();
        minsHigh = Vector128.WidenUpper(m16).AsInt32();
        return scales0 | (ulong)scales1 << 32;
    }

    /// <summary>Q6_K · Q8_K (<see cref="Q6_KCodec"/>): per 16-element sub-block j, sc_j·Σ(q−32)·y, q − 32 ∈ [−32, 31].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q6_K(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector128<float>.Zero;
        var two = Vector128.Create((byte)0x30);
        var offset = Vector128.Create((byte)32);
        for (int b = 0; b < n / 256; b++, w += 210, a += 292)
        {
            byte* ql = w;
            byte* qh = w + 128;
            sbyte* sc = (sbyte*)(w + 192);
            sbyte* y = (sbyte*)(a + 4);
            var sumi = Vector128<int>.Zero;
            for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, y += 128)
            {
                for (int k = 0; k < 2; k++)
                {
                    // elements 16k..16k+15 of each of the four 32-element groups (sub-blocks k, k+2, k+4, k+6)
                    int l = 16 * k;
                    var l0 = Vector128.Load(ql + l);
                    var l1 = Vector128.Load(ql + 32 + l);
                    var h = Vector128.Load(qh + l).AsUInt16();
                    // high 2 bits of group g sit at bits 2g..2g+1 of qh; moved to bits 4..5 (16-bit shifts, masked per byte)
                    var q1 = (LowNibbles(l0) | ((h << 4).AsByte() & two)) - offset;
                    var q2 = (LowNibbles(l1) | ((h << 2).AsByte() & two)) - offset;
                    var q3 = (HighNibbles(l0) | (h.AsByte() & two)) - offset;
                    var q4 = (HighNibbles(l1) | ((h >>> 2).AsByte() & two)) - offset;
                    var p1 = PairSum(MulAddSigned(q1.AsSByte(), Vector128.Load(y + l))) * Vector128.Create((int)sc[k]);
                    var p2 = PairSum(MulAddSigned(q2.AsSByte(), Vector128.Load(y + 32 + l))) * Vector128.Create((int)sc[k + 2]);
                    var p3 = PairSum(MulAddSigned(q3.AsSByte(), Vector128.Load(y + 64 + l))) * Vector128.Create((int)sc[k + 4]);
                    var p4 = PairSum(MulAddSigned(q4.AsSByte(), Vector128.Load(y + 96 + l))) * Vector128.Create((int)sc[k + 6]);
                    sumi += (p1 + p2) + (p3 + p4);
                }
            }
            acc = Accumulate(acc, *(float*)a * f16[*(ushort*)(w + 208)], sumi);
        }
        return Vector128.Sum(acc);
    }
}
