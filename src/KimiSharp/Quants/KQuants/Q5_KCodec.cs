using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// Q5_K (176 B / 256): d, dmin:fp16, scales[12], qh[32], qs[128]; like Q4_K with a fifth bit from qh
/// (chunk c of 64: bit 2c for the low-nibble half, bit 2c+1 for the high-nibble half). Dot with Q8_K.
/// </summary>
internal sealed unsafe class Q5_KCodec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q5_K;
    public override GgmlType VecDotType => GgmlType.Q8_K;
    public override int BlockSize => 256;
    public override int BlockBytes => 176;

    protected override void DequantizeBlock(byte* src, float* y)
    {
        float d = Fp16.ToFloat(*(ushort*)src), min = Fp16.ToFloat(*(ushort*)(src + 2));
        byte* scales = src + 4;
        byte* qh = src + 16;
        byte* ql = src + 48;
        for (int c = 0; c < 4; c++, ql += 32, y += 64)
        {
            KQuantMath.GetScaleMinK4(2 * c, scales, out int sc1, out int m1);
            KQuantMath.GetScaleMinK4(2 * c + 1, scales, out int sc2, out int m2);
            float d1 = d * sc1, dm1 = min * m1, d2 = d * sc2, dm2 = min * m2;
            int u1 = 1 << (2 * c), u2 = 2 << (2 * c);
            for (int l = 0; l < 32; l++) y[l] = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0)) - dm1;
            for (int l = 0; l < 32; l++) y[l + 32] = d2 * ((ql[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - dm2;
        }
    }

    /// <summary>quantize_row_q5_K_ref (make_qkx2_quants(32, 31, rmin −0.5, rdelta 0.1, 15 steps)).</summary>
    protected override void QuantizeBlock(float* x, byte* y)
    {
        byte* L = stackalloc byte[256];
        byte* laux = stackalloc byte[32];
        float* weights = stackalloc float[32];
        float* mins = stackalloc float[8];
        float* scales = stackalloc float[8];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++)
        {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) sumX2 += x[32 * j + l] * x[32 * j + l];
            float avX = MathF.Sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = avX + MathF.Abs(x[32 * j + l]);
            scales[j] = KQuantMath.MakeQkx2Quants(32, 31, x + 32 * j, weights, L + 32 * j, out mins[j], laux, -0.5f, 0.1f, 15, false);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        KScalePacking.PackScaleMin6(y + 4, scales, mins, maxScale, maxMin);
        *(ushort*)y = Fp16.FromFloat(maxScale / 63f);
        *(ushort*)(y + 2) = Fp16.FromFloat(maxMin / 63f);
        float dAll = Fp16.ToFloat(*(ushort*)y), dMin = Fp16.ToFloat(*(ushort*)(y + 2));
        for (int j = 0; j < 8; j++)
        {
            KQuantMath.GetScaleMinK4(j, y + 4, out int sc, out int m);
            float d = dAll * sc;
            if (d == 0) continue;
            float dm = dMin * m;
            for (int ii = 0; ii < 32; ii++)
                L[32 * j + ii] = (byte)Math.Max(0, Math.Min(31, KQuantMath.NearestInt((x[32 * j + ii] + dm) / d)));
        }
        byte* qh = y + 16;
        byte* ql = y + 48;
        for (int j = 0; j < 32; j++) qh[j] = 0;
        int mask1 = 1, mask2 = 2;
        for (int c = 0; c < 256; c += 64, ql += 32, mask1 <<= 2, mask2 <<= 2)
        {
            for (int j = 0; j < 32; j++)
            {
                int l1 = L[c + j], l2 = L[c + j + 32];
                if (l1 > 15) { l1 -= 16; qh[j] |= (byte)mask1; }
                if (l2 > 15) { l2 -= 16; qh[j] |= (byte)mask2; }
                ql[j] = (byte)(l1 | l2 << 4);
            }
        }
    }

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx512 ? KQuantsAvx512.Q5_K(w, a, n) : level >= SimdLevel.Avx2 ? VecDotAvx2(w, a, n) : level >= SimdLevel.Vector128 ? KQuantsVector128.Q5_K(w, a, n) : VecDotScalar(w, a, n);

    internal static float VecDotScalar(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, w += 176, a += 292)
        {
            sbyte* q8 = (sbyte*)(a + 4);
            short* bsums = (short*)(a + 260);
            byte* qh = w + 16;
            byte* ql = w + 48;
            int sumi = 0, summ = 0;
            for (int c = 0; c < 4; c++, ql += 32, q8 += 64)
            {
                KQuantMath.GetScaleMinK4(2 * c, w + 4, out int sc1, out int m1);
                KQuantMath.GetScaleMinK4(2 * c + 1, w + 4, out int sc2, out int m2);
                int s1 = 0, s2 = 0;
                for (int l = 0; l < 32; l++)
                {
                    s1 += ((ql[l] & 0xF) | ((qh[l] >> (2 * c)) & 1) << 4) * q8[l];
                    s2 += ((ql[l] >> 4) | ((qh[l] >> (2 * c + 1)) & 1) << 4) * q8[l + 32];
                }
                sumi += sc1 * s1 + sc2 * s2;
                summ += m1 * (bsums[4 * c] + bsums[4 * c + 1]) + m2 * (bsums[4 * c + 2] + bsums[4 * c + 3]);
            }
            float da = *(float*)a;
            sum += da * Fp16.ToFloat(*(ushort*)w) * sumi - da * Fp16.ToFloat(*(ushort*)(w + 2)) * summ;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float VecDotAvx2(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector256<float>.Zero;
        float summs = 0;
        short* sc = stackalloc short[16];
        for (int b = 0; b < n / 256; b++, w += 176, a += 292)
        {
            float da = *(float*)a;
            var scalesMins = KScalePacking.UnpackScaleMin6Vector(w + 4);
            Avx.Store(sc, scalesMins);
            var bs = Avx.LoadVector256((short*)(a + 260));
            var pairs = Ssse3.HorizontalAdd(bs.GetLower(), bs.GetUpper());
            var prodMin = Sse2.MultiplyAddAdjacent(pairs, scalesMins.GetUpper());
            summs = AddMinTerm(summs, da, f16[*(ushort*)(w + 2)], prodMin);

            // qh bit 2c (low-nibble half of chunk c) / 2c+1 (high-nibble half) moved to bit 4 by 16-bit shifts
            var qh = Avx.LoadVector256(w + 16).AsUInt16();
            byte* q = w + 48;
            sbyte* q8 = (sbyte*)(a + 4);
            var sumi = Avx2.Add(
                Avx2.Add(HalfDot(q, false, Avx2.ShiftLeftLogical(qh, 4), q8, sc[0]), HalfDot(q, true, Avx2.ShiftLeftLogical(qh, 3), q8 + 32, sc[1])),
                Avx2.Add(HalfDot(q + 32, false, Avx2.ShiftLeftLogical(qh, 2), q8 + 64, sc[2]), HalfDot(q + 32, true, Avx2.ShiftLeftLogical(qh, 1), q8 + 96, sc[3])));
            sumi = Avx2.Add(sumi, Avx2.Add(
                Avx2.Add(HalfDot(q + 64, false, qh, q8 + 128, sc[4]), HalfDot(q + 64, true, Avx2.ShiftRightLogical(qh, 1), q8 + 160, sc[5])),
                Avx2.Add(HalfDot(q + 96, false, Avx2.ShiftRightLogical(qh, 2), q8 + 192, sc[6]), HalfDot(q + 96, true, Avx2.ShiftRightLogical(qh, 3), q8 + 224, sc[7]))));
            acc = Fma.MultiplyAdd(Vector256.Create(da * f16[*(ushort*)w]), Avx.ConvertToVector256Single(sumi), acc);
        }
        return SimdOps.HorizontalSum(acc) + summs;
    }

    /// <summary>
    /// Q5_K's min term as ggml accumulates it: one scalar chain, summs += (−d_a·dmin)·(float)Σ_j m_j·(bsum pair j),
    /// fused (vfmadd231ss), added to the horizontal sum of the scale part only at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float AddMinTerm(float summs, float da, float dmin, Vector128<int> prodMin) =>
        MathF.FusedMultiplyAdd(-da * dmin, Vector128.Sum(prodMin), summs);

    /// <summary>32 five-bit values (low or high nibbles of <paramref name="q"/>, fifth bit at bit 4 of <paramref name="qhAtBit4"/>) · y, × scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> HalfDot(byte* q, bool highNibbles, Vector256<ushort> qhAtBit4, sbyte* y, short scale)
    {
        var bits = Avx.LoadVector256(q).AsUInt16();
        if (highNibbles) bits = Avx2.ShiftRightLogical(bits, 4);
        var v = Avx2.Or(Avx2.And(bits.AsByte(), Vector256.Create((byte)0x0F)), Avx2.And(qhAtBit4.AsByte(), Vector256.Create((byte)0x10)));
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(v, Avx.LoadVector256(y)), Vector256.Create(scale));
    }
}
