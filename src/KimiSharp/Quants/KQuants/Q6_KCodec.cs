using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// Q6_K (210 B / 256): ql[128], qh[64], scales[16]:i8, d:fp16. Per 128-element half n, l &lt; 32, group g = 0..3:
/// q = (nibble of ql[64n + l + 32·(g&amp;1)], low for g &lt; 2) | ((qh[32n + l] &gt;&gt; 2g) &amp; 3) &lt;&lt; 4, value = d·scale[8n + l/16 + 2g]·(q − 32).
/// Dot with Q8_K: Σ(q−32)·y = Σ q·y − 32·bsum.
/// </summary>
internal sealed unsafe class Q6_KCodec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q6_K;
    public override GgmlType VecDotType => GgmlType.Q8_K;
    public override int BlockSize => 256;
    public override int BlockBytes => 210;

    protected override void DequantizeBlock(byte* src, float* y)
    {
        float d = Fp16.ToFloat(*(ushort*)(src + 208));
        byte* ql = src;
        byte* qh = src + 128;
        sbyte* sc = (sbyte*)(src + 192);
        for (int n = 0; n < 2; n++, y += 128, ql += 64, qh += 32, sc += 8)
        {
            for (int l = 0; l < 32; l++)
            {
                int isc = l / 16;
                int q1 = ((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32;
                int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
                int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                y[l] = d * sc[isc] * q1;
                y[l + 32] = d * sc[isc + 2] * q2;
                y[l + 64] = d * sc[isc + 4] * q3;
                y[l + 96] = d * sc[isc + 6] * q4;
            }
        }
    }

    /// <summary>quantize_row_q6_K_ref (make_qx_quants(16, 32, rmse_type 1) per 16, scales ×(−128/max)).</summary>
    protected override void QuantizeBlock(float* x, byte* y)
    {
        sbyte* L = stackalloc sbyte[256];
        float* scales = stackalloc float[16];
        float maxScale = 0, maxAbsScale = 0;
        for (int ib = 0; ib < 16; ib++)
        {
            float scale = KQuantMath.MakeQxQuants(16, 32, x + 16 * ib, L + 16 * ib, 1);
            scales[ib] = scale;
            if (MathF.Abs(scale) > maxAbsScale)
            {
                maxAbsScale = MathF.Abs(scale);
                maxScale = scale;
            }
        }
        if (maxAbsScale < KQuantMath.GroupMaxEps)
        {
            new Span<byte>(y, 210).Clear();
            return;
        }
        float iscale = -128f / maxScale;
        *(ushort*)(y + 208) = Fp16.FromFloat(1 / iscale);
        sbyte* sc = (sbyte*)(y + 192);
        for (int ib = 0; ib < 16; ib++)
            sc[ib] = (sbyte)Math.Min(127, KQuantMath.NearestInt(iscale * scales[ib]));
        float dAll = Fp16.ToFloat(*(ushort*)(y + 208));
        for (int j = 0; j < 16; j++)
        {
            float d = dAll * sc[j];
            if (d == 0) continue;
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (sbyte)(Math.Max(-32, Math.Min(31, KQuantMath.NearestInt(x[16 * j + ii] / d))) + 32);
        }
        byte* ql = y;
        byte* qh = y + 128;
        for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
        {
            for (int l = 0; l < 32; l++)
            {
                int q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF, q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
                ql[l] = (byte)(q1 | q3 << 4);
                ql[l + 32] = (byte)(q2 | q4 << 4);
                qh[l] = (byte)((L[j + l] >> 4) | (L[j + l + 32] >> 4) << 2 | (L[j + l + 64] >> 4) << 4 | (L[j + l + 96] >> 4) << 6);
            }
        }
    }

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx512 ? KQuantsAvx512.Q6_K(w, a, n) : level >= SimdLevel.Avx2 ? VecDotAvx2(w, a, n) : level >= SimdLevel.Vector128 ? KQuantsVector128.Q6_K(w, a, n) : VecDotScalar(w, a, n);

    internal static float VecDotScalar(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, w += 210, a += 292)
        {
            sbyte* q8 = (sbyte*)(a + 4);
            byte* ql = w;
            byte* qh = w + 128;
            sbyte* sc = (sbyte*)(w + 192);
            int sumi = 0;
            for (int half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, q8 += 128)
            {
                for (int l = 0; l < 32; l++)
                {
                    int isc = l / 16;
                    int q1 = ((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
                    int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                    int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                    sumi += sc[isc] * q1 * q8[l] + sc[isc + 2] * q2 * q8[l + 32] + sc[isc + 4] * q3 * q8[l + 64] + sc[isc + 6] * q4 * q8[l + 96];
                }
            }
            sum += *(float*)a * Fp16.ToFloat(*(ushort*)(w + 208)) * sumi;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float VecDotAvx2(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector256<float>.Zero;
        var lowMask = Vector256.Create((byte)0x0F);
        var two = Vector256.Create((byte)0x30);
        for (int b = 0; b < n / 256; b++, w += 210, a += 292)
        {
            var sc16 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)(w + 192)));
            // Σ(q−32)·y = Σ q·y − 32·Σ_j sc_j·bsum_j
            var sumi = Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(sc16, Avx.LoadVector256((short*)(a + 260))), 5);
            sumi = Avx2.Subtract(Vector256<int>.Zero, sumi);
            byte* ql = w;
            byte* qh = w + 128;
            sbyte* q8 = (sbyte*)(a + 4);
            for (int half = 0; half < 2; half++, ql += 64, qh += 32, q8 += 128)
            {
                var s = SimdOps.Duplicate(half == 0 ? sc16.GetLower() : sc16.GetUpper());
                var l0 = Avx.LoadVector256(ql);
                var l1 = Avx.LoadVector256(ql + 32);
                var h = Avx.LoadVector256(qh).AsUInt16();
                // high 2 bits of group g sit at bits 2g..2g+1 of qh; move them to bits 4..5
                var q1 = Avx2.Or(Avx2.And(l0, lowMask), Avx2.And(Avx2.ShiftLeftLogical(h, 4).AsByte(), two));
                var q2 = Avx2.Or(Avx2.And(l1, lowMask), Avx2.And(Avx2.ShiftLeftLogical(h, 2).AsByte(), two));
                var q3 = Avx2.Or(Avx2.And(Avx2.ShiftRightLogical(l0.AsUInt16(), 4).AsByte(), lowMask), Avx2.And(h.AsByte(), two));
                var q4 = Avx2.Or(Avx2.And(Avx2.ShiftRightLogical(l1.AsUInt16(), 4).AsByte(), lowMask), Avx2.And(Avx2.ShiftRightLogical(h, 2).AsByte(), two));
                var p1 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q1, Avx.LoadVector256(q8)), SimdOps.PairScale(s, 0));
                var p2 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q2, Avx.LoadVector256(q8 + 32)), SimdOps.PairScale(s, 1));
                var p3 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q3, Avx.LoadVector256(q8 + 64)), SimdOps.PairScale(s, 2));
                var p4 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q4, Avx.LoadVector256(q8 + 96)), SimdOps.PairScale(s, 3));
                sumi = Avx2.Add(sumi, Avx2.Add(Avx2.Add(p1, p2), Avx2.Add(p3, p4)));
            }
            acc = Fma.MultiplyAdd(Vector256.Create(*(float*)a * f16[*(ushort*)(w + 208)]), Avx.ConvertToVector256Single(sumi), acc);
        }
        return SimdOps.HorizontalSum(acc);
    }
}
