using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// Two-row mat-vec kernels: two weight rows against one Q8_K activation row. Each row runs exactly the operations of its
/// single-row kernel (same bits); the activation bytes, their bsums and scale are loaded once for both rows.
/// </summary>
internal static unsafe partial class KQuantsAvx512
{
    /// <summary>
    /// <see cref="Q4_K"/> of rows w0 and w0 + rowBytes with the same activations. The sub-block scales reach the 16-bit lanes by
    /// vpshufb from the scale bytes in every 128-bit lane (cheaper than vpermw; same integers). Written out for both rows:
    /// a shared per-row helper returning its accumulators made the JIT spill them to the stack.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_KRows2(byte* w0, long rowBytes, byte* a, int n, out float s0, out float s1)
    {
        byte* w1 = w0 + rowBytes;
        long nextPair = 2 * rowBytes;
        float* f16 = Fp16.TablePointer;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var accMin0 = Vector128<float>.Zero;
        var accMin1 = Vector128<float>.Zero;
        var lowMask = Vector512.Create((byte)0x0F);
        var pickLo0 = ScalePick(0, 2); var pickHi0 = ScalePick(1, 3);
        var pickLo1 = ScalePick(4, 6); var pickHi1 = ScalePick(5, 7);
        for (int b = 0; b < n / 256; b++, w0 += 144, w1 += 144, a += 292)
        {
            // the next pair of rows, same block: the hardware prefetcher follows two streams into the rows after them, so
            // without this one of the next pair's rows would start with cold misses (half the speed from DRAM)
            Sse.Prefetch0(w0 + nextPair);
            Sse.Prefetch0(w0 + nextPair + 64);
            Sse.Prefetch0(w0 + nextPair + 128);
            Sse.Prefetch0(w0 + nextPair + rowBytes);
            Sse.Prefetch0(w0 + nextPair + rowBytes + 64);
            Sse.Prefetch0(w0 + nextPair + rowBytes + 128);
            float da = *(float*)a;
            var bs = Avx.LoadVector256((short*)(a + 260));
            var bsPairs = Ssse3.HorizontalAdd(bs.GetLower(), bs.GetUpper());
            sbyte* q8 = (sbyte*)(a + 4);
            var a0 = Load2(q8, q8 + 64);
            var a1 = Load2(q8 + 32, q8 + 96);
            var a2 = Load2(q8 + 128, q8 + 192);
            var a3 = Load2(q8 + 160, q8 + 224);

            var scalesMins = KScalePacking.UnpackScaleMin6Bytes(w0 + 4);
            var prodMin = Sse2.MultiplyAddAdjacent(bsPairs, Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(scalesMins, 8)));
            accMin0 = Fma.MultiplyAdd(Vector128.Create(da * f16[*(ushort*)(w0 + 2)]), Sse2.ConvertToVector128Single(prodMin), accMin0);
            var sc = EveryLane(scalesMins);
            var bits0 = Avx512F.LoadVector512(w0 + 16);
            var bits1 = Avx512F.LoadVector512(w0 + 80);
            var s = Madd(bits0 & lowMask, a0, Avx512BW.Shuffle(sc, pickLo0).AsInt16());
            s += Madd(Avx512BW.ShiftRightLogical(bits0.AsUInt16(), 4).AsByte() & lowMask, a1, Avx512BW.Shuffle(sc, pickHi0).AsInt16());
            s += Madd(bits1 & lowMask, a2, Avx512BW.Shuffle(sc, pickLo1).AsInt16());
            s += Madd(Avx512BW.ShiftRightLogical(bits1.AsUInt16(), 4).AsByte() & lowMask, a3, Avx512BW.Shuffle(sc, pickHi1).AsInt16());
            acc0 = Fma.MultiplyAdd(Vector256.Create(da * f16[*(ushort*)w0]), Avx.ConvertToVector256Single(Fold(s)), acc0);

            scalesMins = KScalePacking.UnpackScaleMin6Bytes(w1 + 4);
            prodMin = Sse2.MultiplyAddAdjacent(bsPairs, Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(scalesMins, 8)));
            accMin1 = Fma.MultiplyAdd(Vector128.Create(da * f16[*(ushort*)(w1 + 2)]), Sse2.ConvertToVector128Single(prodMin), accMin1);
            sc = EveryLane(scalesMins);
            bits0 = Avx512F.LoadVector512(w1 + 16);
            bits1 = Avx512F.LoadVector512(w1 + 80);
            s = Madd(bits0 & lowMask, a0, Avx512BW.Shuffle(sc, pickLo0).AsInt16());
            s += Madd(Avx512BW.ShiftRightLogical(bits0.AsUInt16(), 4).AsByte() & lowMask, a1, Avx512BW.Shuffle(sc, pickHi0).AsInt16());
            s += Madd(bits1 & lowMask, a2, Avx512BW.Shuffle(sc, pickLo1).AsInt16());
            s += Madd(Avx512BW.ShiftRightLogical(bits1.AsUInt16(), 4).AsByte() & lowMask, a3, Avx512BW.Shuffle(sc, pickHi1).AsInt16());
            acc1 = Fma.MultiplyAdd(Vector256.Create(da * f16[*(ushort*)w1]), Avx.ConvertToVector256Single(Fold(s)), acc1);
        }
        s0 = Q4_KTotal(acc0, accMin0);
        s1 = Q4_KTotal(acc1, accMin1);
    }

    /// <summary>The 128-bit vector in all four 128-bit lanes (vshufi32x4, in registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> EveryLane(Vector128<byte> v)
    {
        var z = v.AsUInt32().ToVector256Unsafe().ToVector512Unsafe();
        return Avx512F.Shuffle4x128(z, z, 0).AsByte();
    }

    /// <summary>
    /// vpshufb indices giving scale a in the 16-bit lanes of 128-bit lanes 0–1 and scale b in lanes 2–3 (zero-extended:
    /// index 0x80 writes a zero byte), for the register pairs of chunks (0, 2), (1, 3), (4, 6), (5, 7).
    /// </summary>
    private static Vector512<byte> ScalePick(byte a, byte b) =>
        Vector512.Create(Vector256.Create((ushort)(0x8000 | a)), Vector256.Create((ushort)(0x8000 | b))).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Q4_KTotal(Vector256<float> acc, Vector128<float> accMin)
    {
        var m = Sse.Add(accMin, Sse.MoveHighToLow(accMin, accMin));
        m = Sse.AddScalar(m, Sse.Shuffle(m, m, 1));
        return SimdOps.HorizontalSum(acc) - m.ToScalar();
    }
}
