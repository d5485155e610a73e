using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants.Repacked;

public static unsafe partial class Q2KRepackedOrder
{
    /// <summary>
    /// <see cref="Gemv"/> of 8 consecutive rows (stride <paramref name="rowBytes"/>) with one activation row, into dst[0..7],
    /// bit for bit: the activation block is loaded once for the 8 rows, and the rows' per-block integer totals are reduced
    /// together by transposition, so the 8 fma chains run in one vector. AVX-512; elsewhere 8 single calls.
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv8RowsAvx512(byte* w, long rowBytes, byte* a, int n, float* dst)
    {
        var acc = Vector256<float>.Zero;
        var accMin = Vector256<float>.Zero;
        float* f16 = Fp16.TablePointer;
        var sums = stackalloc Vector256<int>[8];
        var mins = stackalloc Vector256<int>[8];
        float* dd = stackalloc float[8];
        float* ddMin = stackalloc float[8];
        var mask2 = Vector512.Create((byte)3);
        var mask4 = Vector128.Create((byte)0xF);
        for (int b = 0; b < n / 256; b++, a += ActivationBlockBytes)
        {
            float da = *(float*)a;
            // the activation block, loaded once for the 8 rows: chunk j pairs q8[32j..] (half 0) with q8[128 + 32j..] (half 1)
            sbyte* q8 = (sbyte*)(a + 4);
            var a0 = SimdOps.Load2(q8, q8 + 128);
            var a1 = SimdOps.Load2(q8 + 32, q8 + 160);
            var a2 = SimdOps.Load2(q8 + 64, q8 + 192);
            var a3 = SimdOps.Load2(q8 + 96, q8 + 224);
            var bsums = Avx.LoadVector256((short*)(a + 260));
            for (int r = 0; r < 8; r++)
            {
                byte* wb = w + r * rowBytes + (long)b * WeightBlockBytes;
                // the same block of the next group's row: the hardware prefetcher does not keep up with 8 interleaved row
                // streams (7 GB/s from DRAM without software prefetch, 12 prefetching 4 blocks ahead, 13-16 this way)
                Sse.Prefetch0(wb + 8 * rowBytes);
                Sse.Prefetch0(wb + 8 * rowBytes + 64);
                var packed = Sse2.LoadVector128(wb);
                var blockMins = Avx2.ConvertToVector256Int16(Sse2.And(Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte(), mask4));
                mins[r] = Avx2.MultiplyAddAdjacent(blockMins, bsums);
                var sc = Avx2.ConvertToVector256Int16(Sse2.And(packed, mask4)).ToVector512Unsafe();
                var bits = Avx512F.LoadVector512(wb + 16).AsUInt16();
                var s = ChunkProducts(bits, 0, a0, sc, ScaleIndices0, mask2) + ChunkProducts(bits, 2, a1, sc, ScaleIndices1, mask2)
                    + ChunkProducts(bits, 4, a2, sc, ScaleIndices2, mask2) + ChunkProducts(bits, 6, a3, sc, ScaleIndices3, mask2);
                sums[r] = Avx2.Add(s.GetLower(), s.GetUpper());
                dd[r] = f16[*(ushort*)(wb + 80)] * da;
                ddMin[r] = f16[*(ushort*)(wb + 82)] * da;
            }
            acc = EightRowGemv.Accumulate(sums, dd, acc);
            accMin = EightRowGemv.Accumulate(mins, ddMin, accMin);
        }
        Avx.Subtract(acc, accMin).Store(dst);
    }

    /// <summary><see cref="Gemv8Rows"/> for two activation rows: each weight block is decoded once for both (same bits).</summary>
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
        var mins0 = stackalloc Vector256<int>[8];
        var sums1 = stackalloc Vector256<int>[8];
        var mins1 = stackalloc Vector256<int>[8];
        float* dd0 = stackalloc float[8];
        float* ddMin0 = stackalloc float[8];
        float* dd1 = stackalloc float[8];
        float* ddMin1 = stackalloc float[8];
        var mask2 = Vector512.Create((byte)3);
        var mask4 = Vector128.Create((byte)0xF);
        for (int b = 0; b < n / 256; b++, a0 += ActivationBlockBytes, a1 += ActivationBlockBytes)
        {
            float da0 = *(float*)a0, da1 = *(float*)a1;
            sbyte* p0 = (sbyte*)(a0 + 4), p1 = (sbyte*)(a1 + 4);
            var x0 = SimdOps.Load2(p0, p0 + 128);
            var x1 = SimdOps.Load2(p0 + 32, p0 + 160);
            var x2 = SimdOps.Load2(p0 + 64, p0 + 192);
            var x3 = SimdOps.Load2(p0 + 96, p0 + 224);
            var y0 = SimdOps.Load2(p1, p1 + 128);
            var y1 = SimdOps.Load2(p1 + 32, p1 + 160);
            var y2 = SimdOps.Load2(p1 + 64, p1 + 192);
            var y3 = SimdOps.Load2(p1 + 96, p1 + 224);
            var bsums0 = Avx.LoadVector256((short*)(a0 + 260));
            var bsums1 = Avx.LoadVector256((short*)(a1 + 260));
            for (int r = 0; r < 8; r++)
            {
                byte* wb = w + r * rowBytes + (long)b * WeightBlockBytes;
                Sse.Prefetch0(wb + 8 * rowBytes); // the next group's row, as in Gemv8RowsAvx512
                Sse.Prefetch0(wb + 8 * rowBytes + 64);
                var packed = Sse2.LoadVector128(wb);
                var blockMins = Avx2.ConvertToVector256Int16(Sse2.And(Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte(), mask4));
                mins0[r] = Avx2.MultiplyAddAdjacent(blockMins, bsums0);
                mins1[r] = Avx2.MultiplyAddAdjacent(blockMins, bsums1);
                var sc = Avx2.ConvertToVector256Int16(Sse2.And(packed, mask4)).ToVector512Unsafe();
                var sc0 = Avx512BW.PermuteVar32x16(sc, ScaleIndices0);
                var sc1 = Avx512BW.PermuteVar32x16(sc, ScaleIndices1);
                var sc2 = Avx512BW.PermuteVar32x16(sc, ScaleIndices2);
                var sc3 = Avx512BW.PermuteVar32x16(sc, ScaleIndices3);
                var bits = Avx512F.LoadVector512(wb + 16).AsUInt16();
                var q0 = bits.AsByte() & mask2;
                var q1 = Avx512BW.ShiftRightLogical(bits, 2).AsByte() & mask2;
                var q2 = Avx512BW.ShiftRightLogical(bits, 4).AsByte() & mask2;
                var q3 = Avx512BW.ShiftRightLogical(bits, 6).AsByte() & mask2;
                var s0 = Madd(q0, x0, sc0) + Madd(q1, x1, sc1) + Madd(q2, x2, sc2) + Madd(q3, x3, sc3);
                var s1 = Madd(q0, y0, sc0) + Madd(q1, y1, sc1) + Madd(q2, y2, sc2) + Madd(q3, y3, sc3);
                sums0[r] = Avx2.Add(s0.GetLower(), s0.GetUpper());
                sums1[r] = Avx2.Add(s1.GetLower(), s1.GetUpper());
                float dw = f16[*(ushort*)(wb + 80)], dmw = f16[*(ushort*)(wb + 82)];
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

    /// <summary>Σ over 16-bit pairs of (2-bit weights · activations), times the sub-block scales: 16 int lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Madd(Vector512<byte> q, Vector512<sbyte> a8, Vector512<short> scales) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, a8), scales);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> ChunkProducts(Vector512<ushort> bits, [System.Diagnostics.CodeAnalysis.ConstantExpected] byte shift,
        Vector512<sbyte> a8, Vector512<short> sc, Vector512<short> index, Vector512<byte> mask2) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Avx512BW.ShiftRightLogical(bits, shift).AsByte() & mask2, a8),
            Avx512BW.PermuteVar32x16(sc, index));

    // vpermw indices of chunk j: 16-bit lanes 0-7 scale 2j, 8-15 scale 2j+1, 16-23 scale 8+2j, 24-31 scale 9+2j. Literal
    // constants: static readonly fields are not constants in an AggressiveOptimization method, and a vector built from
    // Vector128 halves is re-assembled every time.
    private static Vector512<short> ScaleIndices0
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9);
    }

    private static Vector512<short> ScaleIndices1
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((short)2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11);
    }

    private static Vector512<short> ScaleIndices2
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((short)4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 12, 12, 12, 12, 12, 12, 12, 12, 13, 13, 13, 13, 13, 13, 13, 13);
    }

    private static Vector512<short> ScaleIndices3
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((short)6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 14, 14, 14, 14, 14, 14, 14, 14, 15, 15, 15, 15, 15, 15, 15, 15);
    }
}
