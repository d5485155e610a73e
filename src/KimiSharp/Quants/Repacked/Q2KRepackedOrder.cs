using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants.Repacked;

/// <summary>
/// Q2_K · Q8_K in the float order of ggml-cpu's repacked kernels (q2_K_8x8_q8_K, which llama.cpp uses by default for
/// Q2_K weights with a row count that is a multiple of 8), computed from the PLAIN Q2_K / Q8_K layouts.
/// Integer sums are exact in every variant, so only the float accumulation differs (per output, one lane of ggml's
/// vector accumulators, independent of the row's place in its group of 8 or the token's in its group of 4):
///   gemv (ggml_gemv_q2_K_8x8_q8_K): per 256-block b: acc = fma(Σ sc·q2·q8, d·d8, acc); accMin = fma(Σ min·bsum, dmin·d8, accMin)
///   gemm (ggml_gemm_q2_K_8x8_q8_K): the same, but one fma per 128-element half of each block (2 per block)
///   result = acc − accMin, both accumulators starting at +0; d·d8 and dmin·d8 are plain float products.
/// vec_dot (ggml_vec_dot_q2_K_q8_K) instead folds d·d8 and −dmin·d8 into one accumulator, hence different bits.
/// </summary>
public static unsafe partial class Q2KRepackedOrder
{
    private const int WeightBlockBytes = 84, ActivationBlockBytes = 292;

    /// <summary>What ggml_gemv_q2_K_8x8_q8_K stores for this (weight row, activation row): one fma per block.</summary>
    public static float Gemv(byte* plainWeightRow, byte* q8kActivationRow, int n)
    {
        byte* w = plainWeightRow, a = q8kActivationRow;
        float acc = 0, accMin = 0;
        for (int b = 0; b < n / 256; b++, w += WeightBlockBytes, a += ActivationBlockBytes)
        {
            HalfSums(w, a, out int s0, out int s1, out int m0, out int m1);
            float d8 = *(float*)a;
            acc = MathF.FusedMultiplyAdd(s0 + s1, Fp16.ToFloat(*(ushort*)(w + 80)) * d8, acc);
            accMin = MathF.FusedMultiplyAdd(m0 + m1, Fp16.ToFloat(*(ushort*)(w + 82)) * d8, accMin);
        }
        return acc - accMin;
    }

    /// <summary>What ggml_gemm_q2_K_8x8_q8_K stores for this (weight row, activation row): one fma per 128-element half.
    /// The activation row is plain Q8_K: split ggml's block_q8_Kx4 group (or quantize each row alone, same bytes).</summary>
    public static float Gemm(byte* plainWeightRow, byte* q8kActivationRow, int n)
    {
        byte* w = plainWeightRow, a = q8kActivationRow;
        float acc = 0, accMin = 0;
        for (int b = 0; b < n / 256; b++, w += WeightBlockBytes, a += ActivationBlockBytes)
        {
            HalfSums(w, a, out int s0, out int s1, out int m0, out int m1);
            float d8 = *(float*)a;
            float dd = Fp16.ToFloat(*(ushort*)(w + 80)) * d8, dm = Fp16.ToFloat(*(ushort*)(w + 82)) * d8;
            acc = MathF.FusedMultiplyAdd(s0, dd, acc);
            accMin = MathF.FusedMultiplyAdd(m0, dm, accMin);
            acc = MathF.FusedMultiplyAdd(s1, dd, acc);
            accMin = MathF.FusedMultiplyAdd(m1, dm, accMin);
        }
        return acc - accMin;
    }

    /// <summary>
    /// <see cref="Gemm"/> (<paramref name="gemm"/>) or <see cref="Gemv"/> for two activation rows with the same bits as two
    /// calls; the two tokens' FMA chains interleave instead of waiting on each other.
    /// </summary>
    public static void Dot2(byte* w, byte* a0, byte* a1, int n, bool gemm, out float y0, out float y1)
    {
        float acc0 = 0, min0 = 0, acc1 = 0, min1 = 0;
        for (int b = 0; b < n / 256; b++, w += WeightBlockBytes, a0 += ActivationBlockBytes, a1 += ActivationBlockBytes)
        {
            HalfSums(w, a0, out int s0, out int s1, out int m0, out int m1);
            HalfSums(w, a1, out int t0, out int t1, out int n0, out int n1);
            float dw = Fp16.ToFloat(*(ushort*)(w + 80)), dmw = Fp16.ToFloat(*(ushort*)(w + 82));
            float da0 = *(float*)a0, da1 = *(float*)a1;
            float dd0 = dw * da0, dm0 = dmw * da0, dd1 = dw * da1, dm1 = dmw * da1;
            if (gemm)
            {
                acc0 = MathF.FusedMultiplyAdd(s0, dd0, acc0);
                min0 = MathF.FusedMultiplyAdd(m0, dm0, min0);
                acc1 = MathF.FusedMultiplyAdd(t0, dd1, acc1);
                min1 = MathF.FusedMultiplyAdd(n0, dm1, min1);
                acc0 = MathF.FusedMultiplyAdd(s1, dd0, acc0);
                min0 = MathF.FusedMultiplyAdd(m1, dm0, min0);
                acc1 = MathF.FusedMultiplyAdd(t1, dd1, acc1);
                min1 = MathF.FusedMultiplyAdd(n1, dm1, min1);
            }
            else
            {
                acc0 = MathF.FusedMultiplyAdd(s0 + s1, dd0, acc0);
                min0 = MathF.FusedMultiplyAdd(m0 + m1, dm0, min0);
                acc1 = MathF.FusedMultiplyAdd(t0 + t1, dd1, acc1);
                min1 = MathF.FusedMultiplyAdd(n0 + n1, dm1, min1);
            }
        }
        y0 = acc0 - min0;
        y1 = acc1 - min1;
    }

    /// <summary>Exact integer sums of one block, per 128-element half h: s_h = Σ_sub-blocks sc·Σ q2·q8, m_h = Σ min·bsum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HalfSums(byte* w, byte* a, out int s0, out int s1, out int m0, out int m1)
    {
        if (Avx512BW.IsSupported)
            HalfSumsAvx512(w, a, out s0, out s1, out m0, out m1);
        else if (Avx2.IsSupported)
            HalfSumsAvx2(w, a, out s0, out s1, out m0, out m1);
        else
            HalfSumsScalar(w, a, out s0, out s1, out m0, out m1);
    }

    internal static void HalfSumsScalar(byte* w, byte* a, out int s0, out int s1, out int m0, out int m1)
    {
        sbyte* q8 = (sbyte*)(a + 4);
        short* bsums = (short*)(a + 260);
        Span<int> s = stackalloc int[2], m = stackalloc int[2];
        for (int h = 0; h < 2; h++)
        {
            byte* q2 = w + 16 + 32 * h;
            for (int j = 0; j < 4; j++)
                for (int half = 0; half < 2; half++)
                {
                    int sub = 8 * h + 2 * j + half, dot = 0;
                    for (int l = 16 * half; l < 16 * half + 16; l++)
                        dot += ((q2[l] >> (2 * j)) & 3) * q8[128 * h + 32 * j + l];
                    s[h] += (w[sub] & 0xF) * dot;
                    m[h] += (w[sub] >> 4) * bsums[sub];
                }
        }
        s0 = s[0]; s1 = s[1]; m0 = m[0]; m1 = m[1];
    }

    /// <summary>Both halves at once: 512-bit lanes 0..255 hold half 0, 256..511 half 1 (q2 bytes w+16 | w+48 load as one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void HalfSumsAvx512(byte* w, byte* a, out int s0, out int s1, out int m0, out int m1)
    {
        var mask2 = Vector512.Create((byte)3);
        var mask4 = Vector128.Create((byte)0xF);
        var packed = Sse2.LoadVector128(w);
        var mins = Avx2.ConvertToVector256Int16(Sse2.And(Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte(), mask4));
        var prodMin = Avx2.MultiplyAddAdjacent(mins, Avx.LoadVector256((short*)(a + 260)));
        m0 = Vector128.Sum(prodMin.GetLower());
        m1 = Vector128.Sum(prodMin.GetUpper());
        var sc = Avx2.ConvertToVector256Int16(Sse2.And(packed, mask4)).ToVector512Unsafe();
        var bits = Avx512F.LoadVector512(w + 16).AsUInt16();
        sbyte* q8 = (sbyte*)(a + 4);
        // chunk j: sub-blocks 2j, 2j+1 (half 0) and 8+2j, 9+2j (half 1), 8 int16 pair sums each
        var acc = Chunk(bits, 0, q8, sc, ScaleIndex0, mask2);
        acc += Chunk(bits, 2, q8 + 32, sc, ScaleIndex1, mask2);
        acc += Chunk(bits, 4, q8 + 64, sc, ScaleIndex2, mask2);
        acc += Chunk(bits, 6, q8 + 96, sc, ScaleIndex3, mask2);
        s0 = Vector256.Sum(acc.GetLower());
        s1 = Vector256.Sum(acc.GetUpper());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Chunk(Vector512<ushort> bits, [System.Diagnostics.CodeAnalysis.ConstantExpected] byte shift, sbyte* q8,
        Vector512<short> sc, Vector512<short> index, Vector512<byte> mask2)
    {
        var q2 = Avx512BW.ShiftRightLogical(bits, shift).AsByte() & mask2;
        var a8 = SimdOps.Load2(q8, q8 + 128);
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q2, a8), Avx512BW.PermuteVar32x16(sc, index));
    }

    private static readonly Vector512<short> ScaleIndex0 = ScaleIndex(0), ScaleIndex1 = ScaleIndex(1), ScaleIndex2 = ScaleIndex(2), ScaleIndex3 = ScaleIndex(3);

    private static Vector512<short> ScaleIndex(int j)
    {
        short a = (short)(2 * j), b = (short)(2 * j + 1), c = (short)(8 + 2 * j), d = (short)(9 + 2 * j);
        return Vector512.Create(Vector256.Create(Vector128.Create(a), Vector128.Create(b)), Vector256.Create(Vector128.Create(c), Vector128.Create(d)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void HalfSumsAvx2(byte* w, byte* a, out int s0, out int s1, out int m0, out int m1)
    {
        var mask2 = Vector256.Create((byte)3);
        var mask4 = Vector128.Create((byte)0xF);
        var packed = Sse2.LoadVector128(w);
        var mins = Avx2.ConvertToVector256Int16(Sse2.And(Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte(), mask4));
        var prodMin = Avx2.MultiplyAddAdjacent(mins, Avx.LoadVector256((short*)(a + 260))); // lanes 0..3: half 0, 4..7: half 1
        m0 = Vector128.Sum(prodMin.GetLower());
        m1 = Vector128.Sum(prodMin.GetUpper());
        var scales = Avx2.ConvertToVector256Int16(Sse2.And(packed, mask4));
        s0 = Half(w + 16, (sbyte*)(a + 4), SimdOps.Duplicate(scales.GetLower()), mask2);
        s1 = Half(w + 48, (sbyte*)(a + 132), SimdOps.Duplicate(scales.GetUpper()), mask2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Half(byte* q2, sbyte* q8, Vector256<short> s, Vector256<byte> mask2)
    {
        var bits = Avx.LoadVector256(q2).AsUInt16();
        var p0 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.And(bits.AsByte(), mask2), Avx.LoadVector256(q8)), SimdOps.PairScale(s, 0));
        var p1 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.And(Avx2.ShiftRightLogical(bits, 2).AsByte(), mask2), Avx.LoadVector256(q8 + 32)), SimdOps.PairScale(s, 1));
        var p2 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.And(Avx2.ShiftRightLogical(bits, 4).AsByte(), mask2), Avx.LoadVector256(q8 + 64)), SimdOps.PairScale(s, 2));
        var p3 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.And(Avx2.ShiftRightLogical(bits, 6).AsByte(), mask2), Avx.LoadVector256(q8 + 96)), SimdOps.PairScale(s, 3));
        return Vector256.Sum(Avx2.Add(Avx2.Add(p0, p1), Avx2.Add(p2, p3)));
    }
}
