using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants.Repacked;

/// <summary>
/// Q4_K · Q8_K dot products in the float order of ggml-cpu's repacked kernels (weights repacked to block_q4_Kx8,
/// "q4_K_8x8_q8_K"), computed from the PLAIN Q4_K row: no repacking is needed because every integer inside a
/// super-block is exact; only where the sums are converted to float and how they are accumulated matters.
/// Per super-block b (dw, dmw = the row's fp16 d, dmin; da = the activation's f32 d; sc_j, m_j = 6-bit scale/min of
/// sub-block j; dot_j = Σ q4·q8 over its 32 values; bs_j = Σ q8 over it):
/// <list type="bullet">
/// <item><see cref="Gemv"/> (ggml_gemv_q4_K_8x8_q8_K, one activation row):
///   acc = fma(float(Σ_j sc_j·dot_j), dw·da, acc); accMin = fma(float(Σ_j m_j·bs_j), dmw·da, accMin) once per super-block.</item>
/// <item><see cref="Gemm"/> (ggml_gemm_q4_K_8x8_q8_K, activation rows in groups of 4): the same two fmas once per PAIR of
///   sub-blocks (j = 2p, 2p+1, p = 0..3), i.e. four times per super-block.</item>
/// </list>
/// Both return acc − accMin. Neither depends on the row's position within its group of 8 nor the token's within
/// its group of 4 (the AVX-512 and AVX2 paths of ggml's gemm do the same per-element operations).
/// </summary>
public static unsafe class Q4KRepackedOrder
{
    private const int WeightBlockBytes = 144;   // block_q4_K: d, dmin (fp16), scales[12], qs[128]
    private const int ActivationBlockBytes = 292; // block_q8_K: d (f32), qs[256], bsums[16] (i16)

    /// <summary>One plain-layout Q4_K weight row · one Q8_K activation row of n, in ggml's gemv order.</summary>
    public static float Gemv(byte* plainWeightRow, byte* q8kActivationRow, int n) =>
        Avx512BW.IsSupported ? GemvAvx512(plainWeightRow, q8kActivationRow, n)
        : Avx2.IsSupported ? GemvAvx2(plainWeightRow, q8kActivationRow, n) : GemvScalar(plainWeightRow, q8kActivationRow, n);

    /// <summary>
    /// One plain-layout Q4_K weight row · one Q8_K activation row of n, in ggml's gemm order. ggml quantizes gemm
    /// activations with ggml_quantize_mat_t&lt;8, Q8_K&gt; (<see cref="Q8KMatQuantizer"/>); ActivationQuantizer's Q8_K
    /// gives the same results here (its blocks differ only by an exact negation of qs, bsums and d, tested).
    /// </summary>
    public static float Gemm(byte* plainWeightRow, byte* q8kActivationRow, int n) =>
        Avx512BW.IsSupported ? GemmAvx512(plainWeightRow, q8kActivationRow, n)
        : Avx2.IsSupported ? GemmAvx2(plainWeightRow, q8kActivationRow, n) : GemmScalar(plainWeightRow, q8kActivationRow, n);

    /// <summary><see cref="Gemv"/> over <paramref name="rows"/> consecutive weight rows (row stride = n/256 blocks) into dst.</summary>
    public static void GemvRows(byte* plainWeights, int rows, byte* q8kActivationRow, int n, float* dst) =>
        Rows(plainWeights, rows, q8kActivationRow, n, dst, perPair: false);

    /// <summary><see cref="Gemm"/> over <paramref name="rows"/> consecutive weight rows (row stride = n/256 blocks) into dst.</summary>
    public static void GemmRows(byte* plainWeights, int rows, byte* q8kActivationRow, int n, float* dst) =>
        Rows(plainWeights, rows, q8kActivationRow, n, dst, perPair: true);

    private static void Rows(byte* w, int rows, byte* a, int n, float* dst, bool perPair)
    {
        long rowBytes = (long)(n / 256) * WeightBlockBytes;
        for (int r = 0; r < rows; r++)
            dst[r] = perPair ? Gemm(w + r * rowBytes, a, n) : Gemv(w + r * rowBytes, a, n);
    }

    internal static float GemvScalar(byte* w, byte* a, int n)
    {
        int* sums = stackalloc int[4];
        int* mins = stackalloc int[4];
        float acc = 0, accMin = 0;
        for (int b = 0; b < n / 256; b++, w += WeightBlockBytes, a += ActivationBlockBytes)
        {
            PairSumsScalar(w, a, sums, mins);
            ScaleProducts(w, a, out float dd, out float ddMin);
            acc = MathF.FusedMultiplyAdd(sums[0] + sums[1] + sums[2] + sums[3], dd, acc);
            accMin = MathF.FusedMultiplyAdd(mins[0] + mins[1] + mins[2] + mins[3], ddMin, accMin);
        }
        return acc - accMin;
    }

    internal static float GemmScalar(byte* w, byte* a, int n)
    {
        int* sums = stackalloc int[4];
        int* mins = stackalloc int[4];
        float acc = 0, accMin = 0;
        for (int b = 0; b < n / 256; b++, w += WeightBlockBytes, a += ActivationBlockBytes)
        {
            PairSumsScalar(w, a, sums, mins);
            ScaleProducts(w, a, out float dd, out float ddMin);
            for (int p = 0; p < 4; p++)
            {
                acc = MathF.FusedMultiplyAdd(sums[p], dd, acc);
                accMin = MathF.FusedMultiplyAdd(mins[p], ddMin, accMin);
            }
        }
        return acc - accMin;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float GemvAvx2(byte* w, byte* a, int n)
    {
        short* sc = stackalloc short[16];
        float acc = 0, accMin = 0;
        for (int b = 0; b < n / 256; b++, w += WeightBlockBytes, a += ActivationBlockBytes)
        {
            var scalesMins = KScalePacking.UnpackScaleMin6Vector(w + 4);
            Avx.Store(sc, scalesMins);
            var sumi = Avx2.Add(Avx2.Add(PairProducts(w, a, sc, 0), PairProducts(w, a, sc, 1)),
                                Avx2.Add(PairProducts(w, a, sc, 2), PairProducts(w, a, sc, 3)));
            var s4 = Sse2.Add(sumi.GetLower(), sumi.GetUpper());
            var m4 = MinProducts(a, scalesMins);
            // horizontal sums of both at once: lane 0 = Σ sums, lane 1 = Σ mins
            var h = Ssse3.HorizontalAdd(s4, m4);
            var hf = Sse2.ConvertToVector128Single(Ssse3.HorizontalAdd(h, h)); // same rounding as (float)int
            ScaleProducts(w, a, out float dd, out float ddMin);
            acc = MathF.FusedMultiplyAdd(hf.ToScalar(), dd, acc);
            accMin = MathF.FusedMultiplyAdd(hf.GetElement(1), ddMin, accMin);
        }
        return acc - accMin;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float GemmAvx2(byte* w, byte* a, int n)
    {
        short* sc = stackalloc short[16];
        float acc = 0, accMin = 0;
        for (int b = 0; b < n / 256; b++, w += WeightBlockBytes, a += ActivationBlockBytes)
        {
            var scalesMins = KScalePacking.UnpackScaleMin6Vector(w + 4);
            Avx.Store(sc, scalesMins);
            // lane p of the reduction = Σ over the 8 ints of pair p
            var h = Avx2.HorizontalAdd(
                Avx2.HorizontalAdd(PairProducts(w, a, sc, 0), PairProducts(w, a, sc, 1)),
                Avx2.HorizontalAdd(PairProducts(w, a, sc, 2), PairProducts(w, a, sc, 3)));
            var sums = Sse2.ConvertToVector128Single(Sse2.Add(h.GetLower(), h.GetUpper()));
            var mins = Sse2.ConvertToVector128Single(MinProducts(a, scalesMins));
            ScaleProducts(w, a, out float dd, out float ddMin);
            acc = MathF.FusedMultiplyAdd(sums.ToScalar(), dd, acc);
            accMin = MathF.FusedMultiplyAdd(mins.ToScalar(), ddMin, accMin);
            acc = MathF.FusedMultiplyAdd(sums.GetElement(1), dd, acc);
            accMin = MathF.FusedMultiplyAdd(mins.GetElement(1), ddMin, accMin);
            acc = MathF.FusedMultiplyAdd(sums.GetElement(2), dd, acc);
            accMin = MathF.FusedMultiplyAdd(mins.GetElement(2), ddMin, accMin);
            acc = MathF.FusedMultiplyAdd(sums.GetElement(3), dd, acc);
            accMin = MathF.FusedMultiplyAdd(mins.GetElement(3), ddMin, accMin);
        }
        return acc - accMin;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float GemvAvx512(byte* w, byte* a, int n)
    {
        float acc = 0, accMin = 0;
        for (int b = 0; b < n / 256; b++, w += WeightBlockBytes, a += ActivationBlockBytes)
        {
            var scalesMins = KScalePacking.UnpackScaleMin6Vector(w + 4);
            PairProducts512(w, a, scalesMins, out var s01, out var s23);
            var s = Avx512F.Add(s01, s23);
            var s8 = Avx2.Add(s.GetLower(), s.GetUpper());
            var h = Ssse3.HorizontalAdd(Sse2.Add(s8.GetLower(), s8.GetUpper()), MinProducts(a, scalesMins)); // lanes 0-1: sums, 2-3: mins
            var hf = Sse2.ConvertToVector128Single(Ssse3.HorizontalAdd(h, h)); // same rounding as (float)int
            ScaleProducts(w, a, out float dd, out float ddMin);
            acc = MathF.FusedMultiplyAdd(hf.ToScalar(), dd, acc);
            accMin = MathF.FusedMultiplyAdd(hf.GetElement(1), ddMin, accMin);
        }
        return acc - accMin;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float GemmAvx512(byte* w, byte* a, int n)
    {
        float acc = 0, accMin = 0;
        for (int b = 0; b < n / 256; b++, w += WeightBlockBytes, a += ActivationBlockBytes)
        {
            var scalesMins = KScalePacking.UnpackScaleMin6Vector(w + 4);
            var sums = Sse2.ConvertToVector128Single(PairSums512(w, a, scalesMins));
            var mins = Sse2.ConvertToVector128Single(MinProducts(a, scalesMins));
            ScaleProducts(w, a, out float dd, out float ddMin);
            acc = MathF.FusedMultiplyAdd(sums.ToScalar(), dd, acc);
            accMin = MathF.FusedMultiplyAdd(mins.ToScalar(), ddMin, accMin);
            acc = MathF.FusedMultiplyAdd(sums.GetElement(1), dd, acc);
            accMin = MathF.FusedMultiplyAdd(mins.GetElement(1), ddMin, accMin);
            acc = MathF.FusedMultiplyAdd(sums.GetElement(2), dd, acc);
            accMin = MathF.FusedMultiplyAdd(mins.GetElement(2), ddMin, accMin);
            acc = MathF.FusedMultiplyAdd(sums.GetElement(3), dd, acc);
            accMin = MathF.FusedMultiplyAdd(mins.GetElement(3), ddMin, accMin);
        }
        return acc - accMin;
    }

    /// <summary>
    /// <see cref="Gemv"/> for 8 consecutive weight rows (stride <paramref name="rowBytes"/>) against one activation row,
    /// into dst[0..8), with the same bits as 8 calls: the rows' block integers are reduced together and their FMA
    /// chains run as the 8 lanes of one vector, as ggml's own gemv does. AVX-512 only; elsewhere 8 single calls.
    /// </summary>
    public static void Gemv8Rows(byte* w, long rowBytes, byte* a, int n, float* dst)
    {
        if (!Avx512BW.IsSupported)
        {
            for (int r = 0; r < 8; r++)
                dst[r] = Gemv(w + r * rowBytes, a, n);
            return;
        }
        Gemv8RowsAvx512(w, rowBytes, a, n, dst);
    }

    /// <summary>
    /// <see cref="Gemv8Rows"/> for two activation rows (two tokens of a prefill or an expert's batch): each weight block is
    /// decoded once for both; every output has the bits of a single-token call.
    /// </summary>
    public static void Gemv8RowsTwoTokens(byte* w, long rowBytes, byte* a0, byte* a1, int n, float* dst0, float* dst1)
    {
        if (!Avx512BW.IsSupported)
        {
            Gemv8Rows(w, rowBytes, a0, n, dst0);
            Gemv8Rows(w, rowBytes, a1, n, dst1);
            return;
        }
        Gemv8RowsTwoTokensAvx512(w, rowBytes, a0, a1, n, dst0, dst1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv8RowsTwoTokensAvx512(byte* w, long rowBytes, byte* a0, byte* a1, int n, float* dst0, float* dst1)
    {
        var acc0 = Vector256<float>.Zero;
        var accMin0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var accMin1 = Vector256<float>.Zero;
        float* f16 = Fp16.TablePointer;
        var sums0 = stackalloc Vector256<int>[8];
        var mins0 = stackalloc Vector128<int>[8];
        var sums1 = stackalloc Vector256<int>[8];
        var mins1 = stackalloc Vector128<int>[8];
        float* dd0 = stackalloc float[8];
        float* ddMin0 = stackalloc float[8];
        float* dd1 = stackalloc float[8];
        float* ddMin1 = stackalloc float[8];
        var lowMask = Vector512.Create((byte)0x0F);
        for (int b = 0; b < n / 256; b++, a0 += ActivationBlockBytes, a1 += ActivationBlockBytes)
        {
            float da0 = *(float*)a0, da1 = *(float*)a1;
            sbyte* p0 = (sbyte*)(a0 + 4), p1 = (sbyte*)(a1 + 4);
            var x0 = SimdOps.Load2(p0, p0 + 64);
            var x1 = SimdOps.Load2(p0 + 32, p0 + 96);
            var x2 = SimdOps.Load2(p0 + 128, p0 + 192);
            var x3 = SimdOps.Load2(p0 + 160, p0 + 224);
            var y0 = SimdOps.Load2(p1, p1 + 64);
            var y1 = SimdOps.Load2(p1 + 32, p1 + 96);
            var y2 = SimdOps.Load2(p1 + 128, p1 + 192);
            var y3 = SimdOps.Load2(p1 + 160, p1 + 224);
            var bs0 = Avx.LoadVector256((short*)(a0 + 260));
            var bs1 = Avx.LoadVector256((short*)(a1 + 260));
            var bsPerSubBlock0 = Ssse3.HorizontalAdd(bs0.GetLower(), bs0.GetUpper());
            var bsPerSubBlock1 = Ssse3.HorizontalAdd(bs1.GetLower(), bs1.GetUpper());
            for (int r = 0; r < 8; r++)
            {
                byte* wb = w + r * rowBytes + (long)b * WeightBlockBytes;
                Sse.Prefetch0(wb + 8 * rowBytes); // the next group's row, as in Gemv8RowsAvx512
                Sse.Prefetch0(wb + 8 * rowBytes + 64);
                Sse.Prefetch0(wb + 8 * rowBytes + 128);
                var scalesMins = KScalePacking.UnpackScaleMin6Vector(wb + 4);
                var sc = scalesMins.ToVector512Unsafe();
                var sc02 = Avx512BW.PermuteVar32x16(sc, Scales02);
                var sc13 = Avx512BW.PermuteVar32x16(sc, Scales13);
                var sc46 = Avx512BW.PermuteVar32x16(sc, Scales46);
                var sc57 = Avx512BW.PermuteVar32x16(sc, Scales57);
                var bits0 = Avx512F.LoadVector512(wb + 16);
                var bits1 = Avx512F.LoadVector512(wb + 80);
                var lo0 = Avx512F.And(bits0, lowMask);
                var hi0 = Avx512F.And(Avx512BW.ShiftRightLogical(bits0.AsUInt16(), 4).AsByte(), lowMask);
                var lo1 = Avx512F.And(bits1, lowMask);
                var hi1 = Avx512F.And(Avx512BW.ShiftRightLogical(bits1.AsUInt16(), 4).AsByte(), lowMask);
                var s0 = Madd(lo0, x0, sc02) + Madd(hi0, x1, sc13) + Madd(lo1, x2, sc46) + Madd(hi1, x3, sc57);
                var s1 = Madd(lo0, y0, sc02) + Madd(hi0, y1, sc13) + Madd(lo1, y2, sc46) + Madd(hi1, y3, sc57);
                sums0[r] = Avx2.Add(s0.GetLower(), s0.GetUpper());
                sums1[r] = Avx2.Add(s1.GetLower(), s1.GetUpper());
                var m = scalesMins.GetUpper();
                mins0[r] = Sse2.MultiplyAddAdjacent(bsPerSubBlock0, m);
                mins1[r] = Sse2.MultiplyAddAdjacent(bsPerSubBlock1, m);
                float dw = f16[*(ushort*)wb], dmw = f16[*(ushort*)(wb + 2)];
                dd0[r] = dw * da0;
                ddMin0[r] = dmw * da0;
                dd1[r] = dw * da1;
                ddMin1[r] = dmw * da1;
            }
            acc0 = EightRowGemv.Accumulate(sums0, dd0, acc0);
            accMin0 = EightRowGemv.Accumulate(mins0, ddMin0, accMin0);
            acc1 = EightRowGemv.Accumulate(sums1, dd1, acc1);
            accMin1 = EightRowGemv.Accumulate(mins1, ddMin1, accMin1);
        }
        Avx.Subtract(acc0, accMin0).Store(dst0);
        Avx.Subtract(acc1, accMin1).Store(dst1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv8RowsAvx512(byte* w, long rowBytes, byte* a, int n, float* dst)
    {
        var acc = Vector256<float>.Zero;
        var accMin = Vector256<float>.Zero;
        float* f16 = Fp16.TablePointer;
        var sums = stackalloc Vector256<int>[8];
        var mins = stackalloc Vector128<int>[8];
        float* dd = stackalloc float[8];
        float* ddMin = stackalloc float[8];
        var lowMask = Vector512.Create((byte)0x0F);
        for (int b = 0; b < n / 256; b++, a += ActivationBlockBytes)
        {
            float da = *(float*)a;
            // the activation block, loaded once for the 8 rows
            sbyte* q8 = (sbyte*)(a + 4);
            var a0 = SimdOps.Load2(q8, q8 + 64);
            var a1 = SimdOps.Load2(q8 + 32, q8 + 96);
            var a2 = SimdOps.Load2(q8 + 128, q8 + 192);
            var a3 = SimdOps.Load2(q8 + 160, q8 + 224);
            var bs = Avx.LoadVector256((short*)(a + 260));
            var bsPerSubBlock = Ssse3.HorizontalAdd(bs.GetLower(), bs.GetUpper());
            for (int r = 0; r < 8; r++)
            {
                byte* wb = w + r * rowBytes + (long)b * WeightBlockBytes;
                // the same block of the next group's row: the hardware prefetcher does not keep up with 8 interleaved row
                // streams (from DRAM: 15-17 GB/s prefetching 4 blocks ahead in the row, 21-23 this way, as fast as vec_dot)
                Sse.Prefetch0(wb + 8 * rowBytes);
                Sse.Prefetch0(wb + 8 * rowBytes + 64);
                Sse.Prefetch0(wb + 8 * rowBytes + 128);
                var scalesMins = KScalePacking.UnpackScaleMin6Vector(wb + 4);
                var sc = scalesMins.ToVector512Unsafe();
                var bits0 = Avx512F.LoadVector512(wb + 16);
                var bits1 = Avx512F.LoadVector512(wb + 80);
                var s16 = Madd(Avx512F.And(bits0, lowMask), a0, Avx512BW.PermuteVar32x16(sc, Scales02))
                    + Madd(Avx512F.And(Avx512BW.ShiftRightLogical(bits0.AsUInt16(), 4).AsByte(), lowMask), a1, Avx512BW.PermuteVar32x16(sc, Scales13))
                    + Madd(Avx512F.And(bits1, lowMask), a2, Avx512BW.PermuteVar32x16(sc, Scales46))
                    + Madd(Avx512F.And(Avx512BW.ShiftRightLogical(bits1.AsUInt16(), 4).AsByte(), lowMask), a3, Avx512BW.PermuteVar32x16(sc, Scales57));
                sums[r] = Avx2.Add(s16.GetLower(), s16.GetUpper());
                mins[r] = Sse2.MultiplyAddAdjacent(bsPerSubBlock, scalesMins.GetUpper());
                dd[r] = f16[*(ushort*)wb] * da;
                ddMin[r] = f16[*(ushort*)(wb + 2)] * da;
            }
            acc = EightRowGemv.Accumulate(sums, dd, acc);
            accMin = EightRowGemv.Accumulate(mins, ddMin, accMin);
        }
        Avx.Subtract(acc, accMin).Store(dst);
    }

    /// <summary>
    /// <see cref="Gemm"/> (<paramref name="gemm"/>) or <see cref="Gemv"/> for two activation rows at once, with the same
    /// bits as two calls: the weight block's scales and nibbles are decoded once for both, and the two tokens' FMA
    /// chains interleave instead of waiting on each other. AVX-512 only; elsewhere it is two single calls.
    /// </summary>
    public static void Dot2(byte* w, byte* a0, byte* a1, int n, bool gemm, out float y0, out float y1)
    {
        if (!Avx512BW.IsSupported)
        {
            y0 = gemm ? Gemm(w, a0, n) : Gemv(w, a0, n);
            y1 = gemm ? Gemm(w, a1, n) : Gemv(w, a1, n);
            return;
        }
        Dot2Avx512(w, a0, a1, n, gemm, out y0, out y1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot2Avx512(byte* w, byte* a0, byte* a1, int n, bool gemm, out float y0, out float y1)
    {
        float acc0 = 0, min0 = 0, acc1 = 0, min1 = 0;
        var lowMask = Vector512.Create((byte)0x0F);
        float* f16 = Fp16.TablePointer;
        for (int b = 0; b < n / 256; b++, w += WeightBlockBytes, a0 += ActivationBlockBytes, a1 += ActivationBlockBytes)
        {
            var scalesMins = KScalePacking.UnpackScaleMin6Vector(w + 4);
            var sc = scalesMins.ToVector512Unsafe();
            var sc02 = Avx512BW.PermuteVar32x16(sc, Scales02);
            var sc13 = Avx512BW.PermuteVar32x16(sc, Scales13);
            var sc46 = Avx512BW.PermuteVar32x16(sc, Scales46);
            var sc57 = Avx512BW.PermuteVar32x16(sc, Scales57);
            var bits0 = Avx512F.LoadVector512(w + 16);
            var bits1 = Avx512F.LoadVector512(w + 80);
            var lo0 = Avx512F.And(bits0, lowMask);
            var hi0 = Avx512F.And(Avx512BW.ShiftRightLogical(bits0.AsUInt16(), 4).AsByte(), lowMask);
            var lo1 = Avx512F.And(bits1, lowMask);
            var hi1 = Avx512F.And(Avx512BW.ShiftRightLogical(bits1.AsUInt16(), 4).AsByte(), lowMask);
            var sums0 = PairSums(lo0, hi0, lo1, hi1, (sbyte*)(a0 + 4), sc02, sc13, sc46, sc57);
            var sums1 = PairSums(lo0, hi0, lo1, hi1, (sbyte*)(a1 + 4), sc02, sc13, sc46, sc57);
            var mins0 = MinProducts(a0, scalesMins);
            var mins1 = MinProducts(a1, scalesMins);
            float dw = f16[*(ushort*)w], dmw = f16[*(ushort*)(w + 2)];
            float dd0 = dw * *(float*)a0, ddMin0 = dmw * *(float*)a0;
            float dd1 = dw * *(float*)a1, ddMin1 = dmw * *(float*)a1;
            if (gemm)
            {
                // one FMA per pair of sub-blocks, as ggml's gemm
                var s0 = Sse2.ConvertToVector128Single(sums0); var m0 = Sse2.ConvertToVector128Single(mins0);
                var s1 = Sse2.ConvertToVector128Single(sums1); var m1 = Sse2.ConvertToVector128Single(mins1);
                for (int p = 0; p < 4; p++)
                {
                    acc0 = MathF.FusedMultiplyAdd(s0.GetElement(p), dd0, acc0);
                    min0 = MathF.FusedMultiplyAdd(m0.GetElement(p), ddMin0, min0);
                    acc1 = MathF.FusedMultiplyAdd(s1.GetElement(p), dd1, acc1);
                    min1 = MathF.FusedMultiplyAdd(m1.GetElement(p), ddMin1, min1);
                }
            }
            else
            {
                // one FMA per block, as ggml's gemv (the block's integer sums are exact in any order)
                acc0 = MathF.FusedMultiplyAdd(SumLanes(sums0), dd0, acc0);
                min0 = MathF.FusedMultiplyAdd(SumLanes(mins0), ddMin0, min0);
                acc1 = MathF.FusedMultiplyAdd(SumLanes(sums1), dd1, acc1);
                min1 = MathF.FusedMultiplyAdd(SumLanes(mins1), ddMin1, min1);
            }
        }
        y0 = acc0 - min0;
        y1 = acc1 - min1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SumLanes(Vector128<int> v) => v.GetElement(0) + v.GetElement(1) + v.GetElement(2) + v.GetElement(3);

    /// <summary>The four per-pair integers of <see cref="PairSums512"/> from nibble planes already split.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> PairSums(Vector512<byte> lo0, Vector512<byte> hi0, Vector512<byte> lo1, Vector512<byte> hi1, sbyte* q8,
        Vector512<short> sc02, Vector512<short> sc13, Vector512<short> sc46, Vector512<short> sc57)
    {
        var s01 = Avx512F.Add(Madd(lo0, SimdOps.Load2(q8, q8 + 64), sc02), Madd(hi0, SimdOps.Load2(q8 + 32, q8 + 96), sc13));
        var s23 = Avx512F.Add(Madd(lo1, SimdOps.Load2(q8 + 128, q8 + 192), sc46), Madd(hi1, SimdOps.Load2(q8 + 160, q8 + 224), sc57));
        var h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(s01.GetLower(), s01.GetUpper()), Avx2.HorizontalAdd(s23.GetLower(), s23.GetUpper()));
        return Sse2.Add(h.GetLower(), h.GetUpper());
    }

    /// <summary>Ints 0..3: Σ sc·dot over pair p of sub-blocks (the exact per-pair integer of ggml's gemm).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> PairSums512(byte* w, byte* a, Vector256<short> scalesMins)
    {
        PairProducts512(w, a, scalesMins, out var s01, out var s23);
        var h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(s01.GetLower(), s01.GetUpper()), Avx2.HorizontalAdd(s23.GetLower(), s23.GetUpper()));
        return Sse2.Add(h.GetLower(), h.GetUpper());
    }

    /// <summary>
    /// Sub-block products in 512-bit registers: <paramref name="s01"/> lanes 0-7 sum to pair 0, 8-15 to pair 1;
    /// <paramref name="s23"/> likewise for pairs 2, 3. A register holds the low nibbles of two 32-byte chunks
    /// (sub-blocks 0 and 2, or 4 and 6) or their high nibbles (1 and 3, or 5 and 7).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairProducts512(byte* w, byte* a, Vector256<short> scalesMins, out Vector512<int> s01, out Vector512<int> s23)
    {
        var lowMask = Vector512.Create((byte)0x0F);
        var sc = scalesMins.ToVector512Unsafe();
        sbyte* q8 = (sbyte*)(a + 4);
        var bits0 = Avx512F.LoadVector512(w + 16);   // qs bytes 0..63: pairs 0, 1
        var bits1 = Avx512F.LoadVector512(w + 80);   // qs bytes 64..127: pairs 2, 3
        var lo0 = Avx512F.And(bits0, lowMask);
        var hi0 = Avx512F.And(Avx512BW.ShiftRightLogical(bits0.AsUInt16(), 4).AsByte(), lowMask);
        var lo1 = Avx512F.And(bits1, lowMask);
        var hi1 = Avx512F.And(Avx512BW.ShiftRightLogical(bits1.AsUInt16(), 4).AsByte(), lowMask);
        s01 = Avx512F.Add(Madd(lo0, SimdOps.Load2(q8, q8 + 64), Avx512BW.PermuteVar32x16(sc, Scales02)),
                          Madd(hi0, SimdOps.Load2(q8 + 32, q8 + 96), Avx512BW.PermuteVar32x16(sc, Scales13)));
        s23 = Avx512F.Add(Madd(lo1, SimdOps.Load2(q8 + 128, q8 + 192), Avx512BW.PermuteVar32x16(sc, Scales46)),
                          Madd(hi1, SimdOps.Load2(q8 + 160, q8 + 224), Avx512BW.PermuteVar32x16(sc, Scales57)));
    }

    // vpermw indices: lanes 0..15 take scale a, lanes 16..31 scale b. Written as literals so the JIT emits constants (an
    // expression built from Vector256 halves was re-assembled inside the loops, every block).
    private static Vector512<short> Scales02
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2);
    }
    private static Vector512<short> Scales13
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((short)1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3);
    }
    private static Vector512<short> Scales46
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((short)4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6);
    }
    private static Vector512<short> Scales57
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((short)5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Madd(Vector512<byte> u, Vector512<sbyte> s, Vector512<short> scales) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), scales);

    /// <summary>dw·da and dmw·da as ggml forms them (one rounded f32 product each).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaleProducts(byte* w, byte* a, out float dd, out float ddMin)
    {
        float da = *(float*)a;
        float* f16 = Fp16.TablePointer;
        dd = f16[*(ushort*)w] * da;
        ddMin = f16[*(ushort*)(w + 2)] * da;
    }

    /// <summary>8 ints summing to sc_{2p}·dot_{2p} + sc_{2p+1}·dot_{2p+1} (sub-blocks 2p, 2p+1 = qs bytes 32p.., low / high nibbles).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> PairProducts(byte* w, byte* a, short* sc, int p)
    {
        var bits = Avx.LoadVector256(w + 16 + 32 * p);
        var lowMask = Vector256.Create((byte)0x0F);
        var lo = Avx2.And(bits, lowMask);
        var hi = Avx2.And(Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte(), lowMask);
        sbyte* q8 = (sbyte*)(a + 4 + 64 * p);
        var p0 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(lo, Avx.LoadVector256(q8)), Vector256.Create(sc[2 * p]));
        var p1 = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(hi, Avx.LoadVector256(q8 + 32)), Vector256.Create(sc[2 * p + 1]));
        return Avx2.Add(p0, p1);
    }

    /// <summary>Ints 0..3: m_{2p}·bs_{2p} + m_{2p+1}·bs_{2p+1} for p = 0..3 (bs_j = bsums[2j] + bsums[2j+1]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MinProducts(byte* a, Vector256<short> scalesMins)
    {
        var bs = Avx.LoadVector256((short*)(a + 260));
        var perSubBlock = Ssse3.HorizontalAdd(bs.GetLower(), bs.GetUpper()); // 8 shorts: bs_0..bs_7
        return Sse2.MultiplyAddAdjacent(perSubBlock, scalesMins.GetUpper());
    }

    /// <summary>Scalar reference for the exact integers: per pair p of sub-blocks, Σ sc·dot and Σ m·bs.</summary>
    private static void PairSumsScalar(byte* w, byte* a, int* sums, int* mins)
    {
        sbyte* q8 = (sbyte*)(a + 4);
        short* bsums = (short*)(a + 260);
        for (int p = 0; p < 4; p++)
        {
            byte* q = w + 16 + 32 * p;
            sums[p] = 0;
            mins[p] = 0;
            for (int half = 0; half < 2; half++)
            {
                int j = 2 * p + half;
                KQuantMath.GetScaleMinK4(j, w + 4, out int sc, out int m);
                int dot = 0;
                for (int i = 0; i < 32; i++)
                    dot += ((q[i] >> (4 * half)) & 0xF) * q8[32 * j + i];
                sums[p] += sc * dot;
                mins[p] += m * (bsums[2 * j] + bsums[2 * j + 1]);
            }
        }
    }
}
