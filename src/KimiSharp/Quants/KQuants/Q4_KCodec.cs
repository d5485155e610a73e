using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// Q4_K (144 B / 256): d, dmin:fp16, scales[12] (8 six-bit (scale, min) pairs), qs[128].
/// Per 64 elements c: first 32 = d·sc[2c]·(qs&amp;15) − dmin·m[2c], next 32 = d·sc[2c+1]·(qs&gt;&gt;4) − dmin·m[2c+1].
/// Dot with Q8_K: Σ d_a·(d·Σ_j sc_j·Σ q·q8 − dmin·Σ_j m_j·(bsum pair j)).
/// </summary>
internal sealed unsafe class Q4_KCodec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q4_K;
    public override GgmlType VecDotType => GgmlType.Q8_K;
    public override int BlockSize => 256;
    public override int BlockBytes => 144;

    protected override void DequantizeBlock(byte* src, float* y)
    {
        float d = Fp16.ToFloat(*(ushort*)src), min = Fp16.ToFloat(*(ushort*)(src + 2));
        byte* scales = src + 4;
        byte* q = src + 16;
        for (int c = 0; c < 4; c++, q += 32, y += 64)
        {
            KQuantMath.GetScaleMinK4(2 * c, scales, out int sc1, out int m1);
            KQuantMath.GetScaleMinK4(2 * c + 1, scales, out int sc2, out int m2);
            float d1 = d * sc1, dm1 = min * m1, d2 = d * sc2, dm2 = min * m2;
            for (int l = 0; l < 32; l++) y[l] = d1 * (q[l] & 0xF) - dm1;
            for (int l = 0; l < 32; l++) y[l + 32] = d2 * (q[l] >> 4) - dm2;
        }
    }

    /// <summary>quantize_row_q4_K_ref (weights av_x + |x|, make_qkx2_quants(32, 15, rmin −1, rdelta 0.1, 20 steps)).</summary>
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
            scales[j] = KQuantMath.MakeQkx2Quants(32, 15, x + 32 * j, weights, L + 32 * j, out mins[j], laux, -1f, 0.1f, 20, false);
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
                L[32 * j + ii] = (byte)Math.Max(0, Math.Min(15, KQuantMath.NearestInt((x[32 * j + ii] + dm) / d)));
        }
        byte* q = y + 16;
        for (int j = 0; j < 256; j += 64, q += 32)
            for (int l = 0; l < 32; l++)
                q[l] = (byte)(L[j + l] | L[j + l + 32] << 4);
    }

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx512 ? KQuantsAvx512.Q4_K(w, a, n) : level >= SimdLevel.Avx2 ? VecDotAvx2(w, a, n) : level >= SimdLevel.Vector128 ? KQuantsVector128.Q4_K(w, a, n) : VecDotScalar(w, a, n);

    internal static float VecDotScalar(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, w += 144, a += 292)
        {
            sbyte* q8 = (sbyte*)(a + 4);
            short* bsums = (short*)(a + 260);
            byte* q = w + 16;
            int sumi = 0, summ = 0;
            for (int c = 0; c < 4; c++, q += 32, q8 += 64)
            {
                KQuantMath.GetScaleMinK4(2 * c, w + 4, out int sc1, out int m1);
                KQuantMath.GetScaleMinK4(2 * c + 1, w + 4, out int sc2, out int m2);
                int s1 = 0, s2 = 0;
                for (int l = 0; l < 32; l++)
                {
                    s1 += (q[l] & 0xF) * q8[l];
                    s2 += (q[l] >> 4) * q8[l + 32];
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
        var accMin = Vector128<float>.Zero;
        var lowMask = Vector256.Create((byte)0x0F);
        short* sc = stackalloc short[16];
        for (int b = 0; b < n / 256; b++, w += 144, a += 292)
        {
            float da = *(float*)a;
            var scalesMins = KScalePacking.UnpackScaleMin6Vector(w + 4); // 8 scales, 8 mins as shorts
            Avx.Store(sc, scalesMins);
            // min term: Σ_j m_j · (bsum[2j] + bsum[2j+1])
            var bs = Avx.LoadVector256((short*)(a + 260));
            var pairs = Ssse3.HorizontalAdd(bs.GetLower(), bs.GetUpper());
            var prodMin = Sse2.MultiplyAddAdjacent(pairs, scalesMins.GetUpper());
            accMin = Fma.MultiplyAdd(Vector128.Create(da * f16[*(ushort*)(w + 2)]), Sse2.ConvertToVector128Single(prodMin), accMin);

            byte* q = w + 16;
            sbyte* q8 = (sbyte*)(a + 4);
            var sumi = Vector256<int>.Zero;
            for (int c = 0; c < 4; c++, q += 32, q8 += 64)
            {
                var bits = Avx.LoadVector256(q);
                var lo = Avx2.And(bits, lowMask);
                var hi = Avx2.And(Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte(), lowMask);
                var p1 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(lo, Avx.LoadVector256(q8)), Vector256.Create(sc[2 * c]));
                var p2 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(hi, Avx.LoadVector256(q8 + 32)), Vector256.Create(sc[2 * c + 1]));
                sumi = Avx2.Add(sumi, Avx2.Add(p1, p2));
            }
            acc = Fma.MultiplyAdd(Vector256.Create(da * f16[*(ushort*)w]), Avx.ConvertToVector256Single(sumi), acc);
        }
        var m = Sse.Add(accMin, Sse.MoveHighToLow(accMin, accMin));
        m = Sse.AddScalar(m, Sse.Shuffle(m, m, 1));
        return SimdOps.HorizontalSum(acc) - m.ToScalar();
    }
}
