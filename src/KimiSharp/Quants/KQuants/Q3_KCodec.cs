using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// Q3_K (110 B / 256): hmask[32], qs[64], scales[12] (16 six-bit scales, −32), d:fp16.
/// Element e = 128h + 32s + l: q = ((qs[32h + l] &gt;&gt; 2s) &amp; 3) − (hmask[l] bit (4h+s) ? 0 : 4); value = d·sc[e/16]·q.
/// Dot with Q8_K: with u = q + 4 ∈ [0, 7], Σ q·y = Σ (u − 4)·y, the −4 applied to every pair of products as ggml does.
/// </summary>
internal sealed unsafe class Q3_KCodec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q3_K;
    public override GgmlType VecDotType => GgmlType.Q8_K;
    public override int BlockSize => 256;
    public override int BlockBytes => 110;

    protected override void DequantizeBlock(byte* src, float* y)
    {
        float dAll = Fp16.ToFloat(*(ushort*)(src + 108));
        sbyte* scales = stackalloc sbyte[16];
        KQuantMath.UnpackQ3Scales(src + 96, scales);
        byte* hm = src;
        byte* q = src + 32;
        int isc = 0, m = 1;
        for (int h = 0; h < 2; h++, q += 32)
        {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1)
            {
                float dl = dAll * scales[isc++];
                for (int l = 0; l < 16; l++) *y++ = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) != 0 ? 0 : 4));
                dl = dAll * scales[isc++];
                for (int l = 16; l < 32; l++) *y++ = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) != 0 ? 0 : 4));
            }
        }
    }

    /// <summary>quantize_row_q3_K_ref (make_q3_quants(16, 4, rmse) per 16, scales ×(−32/max) in 6 bits).</summary>
    protected override void QuantizeBlock(float* x, byte* y)
    {
        sbyte* L = stackalloc sbyte[256];
        float* scales = stackalloc float[16];
        float maxScale = 0, amax = 0;
        for (int j = 0; j < 16; j++)
        {
            scales[j] = KQuantMath.MakeQ3Quants(16, 4, x + 16 * j, L + 16 * j, true);
            float scale = MathF.Abs(scales[j]);
            if (scale > amax) { amax = scale; maxScale = scales[j]; }
        }
        byte* sc = y + 96;
        for (int j = 0; j < 12; j++) sc[j] = 0;
        if (maxScale != 0)
        {
            float iscale = -32f / maxScale;
            for (int j = 0; j < 16; j++)
            {
                sbyte l = (sbyte)KQuantMath.NearestInt(iscale * scales[j]);
                l = (sbyte)(Math.Max(-32, Math.Min(31, (int)l)) + 32);
                if (j < 8) sc[j] = (byte)(l & 0xF);
                else sc[j - 8] |= (byte)((l & 0xF) << 4);
                l >>= 4;
                sc[j % 4 + 8] |= (byte)((byte)l << (2 * (j / 4)));
            }
            *(ushort*)(y + 108) = Fp16.FromFloat(1 / iscale);
        }
        else
        {
            *(ushort*)(y + 108) = Fp16.FromFloat(0f);
        }
        float dAll = Fp16.ToFloat(*(ushort*)(y + 108));
        sbyte* unpacked = stackalloc sbyte[16];
        KQuantMath.UnpackQ3Scales(sc, unpacked);
        for (int j = 0; j < 16; j++)
        {
            float d = dAll * unpacked[j];
            if (d == 0) continue;
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (sbyte)(Math.Max(-4, Math.Min(3, KQuantMath.NearestInt(x[16 * j + ii] / d))) + 4);
        }
        byte* hmask = y;
        for (int j = 0; j < 32; j++) hmask[j] = 0;
        int m = 0;
        byte hmBit = 1;
        for (int j = 0; j < 256; j++)
        {
            if (L[j] > 3)
            {
                hmask[m] |= hmBit;
                L[j] -= 4;
            }
            if (++m == 32)
            {
                m = 0;
                hmBit <<= 1;
            }
        }
        byte* qs = y + 32;
        for (int j = 0; j < 256; j += 128)
            for (int l = 0; l < 32; l++)
                qs[j / 4 + l] = (byte)((byte)L[j + l] | (byte)L[j + l + 32] << 2 | (byte)L[j + l + 64] << 4 | (byte)L[j + l + 96] << 6);
    }

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx512 ? KQuantsAvx512.Q3_K(w, a, n) : level >= SimdLevel.Avx2 ? VecDotAvx2(w, a, n) : level >= SimdLevel.Vector128 ? KQuantsVector128.Q3_K(w, a, n) : VecDotScalar(w, a, n);

    internal static float VecDotScalar(byte* w, byte* a, int n)
    {
        float sum = 0;
        sbyte* scales = stackalloc sbyte[16];
        for (int b = 0; b < n / 256; b++, w += 110, a += 292)
        {
            KQuantMath.UnpackQ3Scales(w + 96, scales);
            sbyte* q8 = (sbyte*)(a + 4);
            byte* hm = w;
            byte* q = w + 32;
            int isum = 0, isc = 0, m = 1;
            for (int h = 0; h < 2; h++, q += 32)
            {
                for (int shift = 0; shift < 8; shift += 2, m <<= 1, q8 += 32)
                {
                    int s1 = 0, s2 = 0;
                    for (int l = 0; l < 16; l++) s1 += q8[l] * (((q[l] >> shift) & 3) - ((hm[l] & m) != 0 ? 0 : 4));
                    for (int l = 16; l < 32; l++) s2 += q8[l] * (((q[l] >> shift) & 3) - ((hm[l] & m) != 0 ? 0 : 4));
                    isum += scales[isc] * s1 + scales[isc + 1] * s2;
                    isc += 2;
                }
            }
            sum += *(float*)a * Fp16.ToFloat(*(ushort*)(w + 108)) * isum;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float VecDotAvx2(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, w += 110, a += 292)
        {
            var sc16 = Avx2.ConvertToVector256Int16(KQuantMath.UnpackQ3ScalesVector(w + 96));
            var s0 = SimdOps.Duplicate(sc16.GetLower());
            var s1 = SimdOps.Duplicate(sc16.GetUpper());
            // hmask bit k of chunk k is moved to bit 2 (16-bit shifts: bit 2 of each byte comes from the same byte)
            var hm = Avx.LoadVector256(w).AsUInt16();
            var bits0 = Avx.LoadVector256(w + 32).AsUInt16();
            var bits1 = Avx.LoadVector256(w + 64).AsUInt16();
            sbyte* q8 = (sbyte*)(a + 4);
            var sumi = Avx2.Add(
                Avx2.Add(ChunkDot(bits0, Avx2.ShiftLeftLogical(hm, 2), q8, SimdOps.PairScale(s0, 0)),
                    ChunkDot(Avx2.ShiftRightLogical(bits0, 2), Avx2.ShiftLeftLogical(hm, 1), q8 + 32, SimdOps.PairScale(s0, 1))),
                Avx2.Add(ChunkDot(Avx2.ShiftRightLogical(bits0, 4), hm, q8 + 64, SimdOps.PairScale(s0, 2)),
                    ChunkDot(Avx2.ShiftRightLogical(bits0, 6), Avx2.ShiftRightLogical(hm, 1), q8 + 96, SimdOps.PairScale(s0, 3))));
            sumi = Avx2.Add(sumi, Avx2.Add(
                Avx2.Add(ChunkDot(bits1, Avx2.ShiftRightLogical(hm, 2), q8 + 128, SimdOps.PairScale(s1, 0)),
                    ChunkDot(Avx2.ShiftRightLogical(bits1, 2), Avx2.ShiftRightLogical(hm, 3), q8 + 160, SimdOps.PairScale(s1, 1))),
                Avx2.Add(ChunkDot(Avx2.ShiftRightLogical(bits1, 4), Avx2.ShiftRightLogical(hm, 4), q8 + 192, SimdOps.PairScale(s1, 2)),
                    ChunkDot(Avx2.ShiftRightLogical(bits1, 6), Avx2.ShiftRightLogical(hm, 5), q8 + 224, SimdOps.PairScale(s1, 3)))));
            acc = Fma.MultiplyAdd(Vector256.Create(*(float*)a * f16[*(ushort*)(w + 108)]), Avx.ConvertToVector256Single(sumi), acc);
        }
        return SimdOps.HorizontalSum(acc);
    }

    /// <summary>
    /// One 32-element chunk: q = (low 2 bits) − 4·(1 − hmask bit, found at bit 2 of <paramref name="hmAtBit2"/>) ∈ [−4, 3];
    /// Σ q·y per pair as maddubs(|y|, sign(q, y)) (exact, also for y = −128), then × the sub-block scales. Each int32
    /// lane thus holds the same partial sum as ggml's kernel, so the float accumulation matches bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> ChunkDot(Vector256<ushort> bits, Vector256<ushort> hmAtBit2, sbyte* y, Vector256<short> scales)
    {
        var low = Avx2.And(bits.AsByte(), Vector256.Create((byte)3));
        var q = Avx2.Subtract(low, Avx2.AndNot(hmAtBit2.AsByte(), Vector256.Create((byte)4))).AsSByte();
        var q8 = Avx.LoadVector256(y);
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(q8), Avx2.Sign(q, q8)), scales);
    }
}
