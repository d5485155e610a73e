using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// Q2_K (84 B / 256): scales[16] (low nibble scale, high nibble min), qs[64], d, dmin:fp16.
/// Element 128h + 32s + l: q = (qs[32h + l] &gt;&gt; 2s) &amp; 3; sub-block j = element/16: value = d·(sc_j&amp;15)·q − dmin·(sc_j&gt;&gt;4).
/// </summary>
internal sealed unsafe class Q2_KCodec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q2_K;
    public override GgmlType VecDotType => GgmlType.Q8_K;
    public override int BlockSize => 256;
    public override int BlockBytes => 84;

    protected override void DequantizeBlock(byte* src, float* y)
    {
        float d = Fp16.ToFloat(*(ushort*)(src + 80)), min = Fp16.ToFloat(*(ushort*)(src + 82));
        byte* q = src + 16;
        int isc = 0;
        for (int h = 0; h < 2; h++, q += 32)
        {
            for (int shift = 0; shift < 8; shift += 2)
            {
                int sc = src[isc++];
                float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                for (int l = 0; l < 16; l++) *y++ = dl * ((q[l] >> shift) & 3) - ml;
                sc = src[isc++];
                dl = d * (sc & 0xF);
                ml = min * (sc >> 4);
                for (int l = 16; l < 32; l++) *y++ = dl * ((q[l] >> shift) & 3) - ml;
            }
        }
    }

    /// <summary>quantize_row_q2_K_ref (make_qkx2_quants(16, 3, weights |x|, rmin −0.5, rdelta 0.1, 15 steps, MAD)).</summary>
    protected override void QuantizeBlock(float* x, byte* y)
    {
        byte* L = stackalloc byte[256];
        byte* laux = stackalloc byte[16];
        float* weights = stackalloc float[16];
        float* mins = stackalloc float[16];
        float* scales = stackalloc float[16];
        const float q4scale = 15f;
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 16; j++)
        {
            for (int l = 0; l < 16; l++) weights[l] = MathF.Abs(x[16 * j + l]);
            scales[j] = KQuantMath.MakeQkx2Quants(16, 3, x + 16 * j, weights, L + 16 * j, out mins[j], laux, -0.5f, 0.1f, 15, true);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        byte* sc = y;
        if (maxScale > 0)
        {
            float iscale = q4scale / maxScale;
            for (int j = 0; j < 16; j++) sc[j] = (byte)KQuantMath.NearestInt(iscale * scales[j]);
            *(ushort*)(y + 80) = Fp16.FromFloat(maxScale / q4scale);
        }
        else
        {
            for (int j = 0; j < 16; j++) sc[j] = 0;
            *(ushort*)(y + 80) = Fp16.FromFloat(0f);
        }
        if (maxMin > 0)
        {
            float iscale = q4scale / maxMin;
            for (int j = 0; j < 16; j++) sc[j] |= (byte)(KQuantMath.NearestInt(iscale * mins[j]) << 4);
            *(ushort*)(y + 82) = Fp16.FromFloat(maxMin / q4scale);
        }
        else
        {
            *(ushort*)(y + 82) = Fp16.FromFloat(0f);
        }
        float dAll = Fp16.ToFloat(*(ushort*)(y + 80)), dMin = Fp16.ToFloat(*(ushort*)(y + 82));
        for (int j = 0; j < 16; j++)
        {
            float d = dAll * (sc[j] & 0xF);
            if (d == 0) continue;
            float dm = dMin * (sc[j] >> 4);
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (byte)Math.Max(0, Math.Min(3, KQuantMath.NearestInt((x[16 * j + ii] + dm) / d)));
        }
        byte* qs = y + 16;
        for (int j = 0; j < 256; j += 128)
            for (int l = 0; l < 32; l++)
                qs[j / 4 + l] = (byte)(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 | L[j + l + 96] << 6);
    }

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx512 ? KQuantsAvx512.Q2_K(w, a, n) : level >= SimdLevel.Avx2 ? VecDotAvx2(w, a, n) : level >= SimdLevel.Vector128 ? KQuantsVector128.Q2_K(w, a, n) : VecDotScalar(w, a, n);

    internal static float VecDotScalar(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, w += 84, a += 292)
        {
            sbyte* q8 = (sbyte*)(a + 4);
            short* bsums = (short*)(a + 260);
            int summs = 0;
            for (int j = 0; j < 16; j++) summs += bsums[j] * (w[j] >> 4);
            int isum = 0, isc = 0;
            byte* q2 = w + 16;
            for (int h = 0; h < 2; h++, q2 += 32)
            {
                for (int shift = 0; shift < 8; shift += 2, q8 += 32)
                {
                    int s1 = 0, s2 = 0;
                    for (int l = 0; l < 16; l++) s1 += q8[l] * ((q2[l] >> shift) & 3);
                    for (int l = 16; l < 32; l++) s2 += q8[l] * ((q2[l] >> shift) & 3);
                    isum += (w[isc] & 0xF) * s1 + (w[isc + 1] & 0xF) * s2;
                    isc += 2;
                }
            }
            float da = *(float*)a;
            sum += da * Fp16.ToFloat(*(ushort*)(w + 80)) * isum - da * Fp16.ToFloat(*(ushort*)(w + 82)) * summs;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float VecDotAvx2(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector256<float>.Zero;
        var mask2 = Vector256.Create((byte)3);
        var mask4 = Vector128.Create((byte)0xF);
        for (int b = 0; b < n / 256; b++, w += 84, a += 292)
        {
            float da = *(float*)a;
            var packed = Sse2.LoadVector128(w);
            var mins = Avx2.ConvertToVector256Int16(Sse2.And(Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte(), mask4));
            var prodMin = Avx2.MultiplyAddAdjacent(mins, Avx.LoadVector256((short*)(a + 260)));
            acc = Fma.MultiplyAdd(Vector256.Create(-da * f16[*(ushort*)(w + 82)]), Avx.ConvertToVector256Single(prodMin), acc);

            var scales = Avx2.ConvertToVector256Int16(Sse2.And(packed, mask4));
            byte* q2 = w + 16;
            sbyte* q8 = (sbyte*)(a + 4);
            var sumi = Vector256<int>.Zero;
            for (int h = 0; h < 2; h++, q2 += 32, q8 += 128)
            {
                var s = SimdOps.Duplicate(h == 0 ? scales.GetLower() : scales.GetUpper());
                var bits = Avx.LoadVector256(q2).AsUInt16();
                var p0 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.And(bits.AsByte(), mask2), Avx.LoadVector256(q8)), SimdOps.PairScale(s, 0));
                var p1 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.And(Avx2.ShiftRightLogical(bits, 2).AsByte(), mask2), Avx.LoadVector256(q8 + 32)), SimdOps.PairScale(s, 1));
                var p2 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.And(Avx2.ShiftRightLogical(bits, 4).AsByte(), mask2), Avx.LoadVector256(q8 + 64)), SimdOps.PairScale(s, 2));
                var p3 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.And(Avx2.ShiftRightLogical(bits, 6).AsByte(), mask2), Avx.LoadVector256(q8 + 96)), SimdOps.PairScale(s, 3));
                sumi = Avx2.Add(sumi, Avx2.Add(Avx2.Add(p0, p1), Avx2.Add(p2, p3)));
            }
            acc = Fma.MultiplyAdd(Vector256.Create(da * f16[*(ushort*)(w + 80)]), Avx.ConvertToVector256Single(sumi), acc);
        }
        return SimdOps.HorizontalSum(acc);
    }
}
