using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// AVX-512BW dot products of the k-quants with Q8_K: the same integer math as the AVX2 kernels, two 32-element
/// groups per 512-bit register (vpmaddubsw → vpmaddwd with per-sub-block scales picked by vpermw).
/// </summary>
internal static unsafe class KQuantsAvx512
{
    /// <summary>vpermw indices: 16-bit lane i takes scale i/8 + offset (four 16-element sub-blocks per register).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Quarters(short offset) => Vector512.Create(
        Vector256.Create(Vector128.Create(offset), Vector128.Create((short)(offset + 1))),
        Vector256.Create(Vector128.Create((short)(offset + 2)), Vector128.Create((short)(offset + 3))));

    /// <summary>vpermw indices: lanes 0..15 take scale a, lanes 16..31 take scale b (one scale per 32 elements).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Halves(short a, short b) => Vector512.Create(Vector256.Create(a), Vector256.Create(b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Madd(Vector512<byte> u, Vector512<sbyte> s, Vector512<short> scales) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), scales);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Fold(Vector512<int> v) => Avx2.Add(v.GetLower(), v.GetUpper());

    /// <summary>
    /// Q4_K · Q8_K. The sub-block scales reach the 16-bit lanes by vpshufb from the scale bytes repeated in every 128-bit
    /// lane (<see cref="ScalePick"/>), cheaper than vpermw; the integers are the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_K(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector256<float>.Zero;
        var accMin = Vector128<float>.Zero;
        var lowMask = Vector512.Create((byte)0x0F);
        var pickLo0 = ScalePick(0, 2); var pickHi0 = ScalePick(1, 3);
        var pickLo1 = ScalePick(4, 6); var pickHi1 = ScalePick(5, 7);
        for (int b = 0; b < n / 256; b++, w += 144, a += 292)
        {
            float da = *(float*)a;
            var scalesMins = KScalePacking.UnpackScaleMin6Bytes(w + 4);
            var bs = Avx.LoadVector256((short*)(a + 260));
            var mins = Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(scalesMins, 8));
            var prodMin = Sse2.MultiplyAddAdjacent(Ssse3.HorizontalAdd(bs.GetLower(), bs.GetUpper()), mins);
            accMin = Fma.MultiplyAdd(Vector128.Create(da * f16[*(ushort*)(w + 2)]), Sse2.ConvertToVector128Single(prodMin), accMin);

            var sc = EveryLane(scalesMins);
            sbyte* q8 = (sbyte*)(a + 4);
            var bits0 = Avx512F.LoadVector512(w + 16);   // chunks 0, 1
            var bits1 = Avx512F.LoadVector512(w + 80);   // chunks 2, 3
            var lo0 = bits0 & lowMask;
            var hi0 = Avx512BW.ShiftRightLogical(bits0.AsUInt16(), 4).AsByte() & lowMask;
            var lo1 = bits1 & lowMask;
            var hi1 = Avx512BW.ShiftRightLogical(bits1.AsUInt16(), 4).AsByte() & lowMask;
            var s = Madd(lo0, SimdOps.Load2(q8, q8 + 64), Avx512BW.Shuffle(sc, pickLo0).AsInt16());
            s += Madd(hi0, SimdOps.Load2(q8 + 32, q8 + 96), Avx512BW.Shuffle(sc, pickHi0).AsInt16());
            s += Madd(lo1, SimdOps.Load2(q8 + 128, q8 + 192), Avx512BW.Shuffle(sc, pickLo1).AsInt16());
            s += Madd(hi1, SimdOps.Load2(q8 + 160, q8 + 224), Avx512BW.Shuffle(sc, pickHi1).AsInt16());
            acc = Fma.MultiplyAdd(Vector256.Create(da * f16[*(ushort*)w]), Avx.ConvertToVector256Single(Fold(s)), acc);
        }
        var m = Sse.Add(accMin, Sse.MoveHighToLow(accMin, accMin));
        m = Sse.AddScalar(m, Sse.Shuffle(m, m, 1));
        return SimdOps.HorizontalSum(acc) - m.ToScalar();
    }

    /// <summary>The 128-bit vector in all four 128-bit lanes (vshufi32x4, in registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> EveryLane(Vector128<byte> v)
    {
        var z = v.AsUInt32().ToVector256Unsafe().ToVector512Unsafe();
        return Avx512F.Shuffle4x128(z, z, 0).AsByte();
    }

    /// <summary>
    /// vpshufb indices giving scale byte a, zero-extended, in the 16-bit lanes of 128-bit lanes 0–1 and scale byte b in
    /// lanes 2–3 (index 0x80 writes a zero byte): the scales of the chunk pairs (0, 2), (1, 3), (4, 6), (5, 7).
    /// </summary>
    private static Vector512<byte> ScalePick(byte a, byte b) =>
        Vector512.Create(Vector256.Create((ushort)(0x8000 | a)), Vector256.Create((ushort)(0x8000 | b))).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_K(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector256<float>.Zero;
        float summs = 0;
        var lowMask = Vector512.Create((byte)0x0F);
        var bit4 = Vector512.Create((byte)0x10);
        var idxLo0 = Halves(0, 2); var idxHi0 = Halves(1, 3);
        var idxLo1 = Halves(4, 6); var idxHi1 = Halves(5, 7);
        // qh: chunk c's low half uses bit 2c, high half bit 2c+1; registers hold chunks (0, 1) and (2, 3).
        // A 32-bit rotate left by (4 − bit) mod 32 brings that bit of every byte to bit 4 of the same byte.
        var rLo0 = Vector512.Create(Vector256.Create(4u), Vector256.Create(2u));
        var rHi0 = Vector512.Create(Vector256.Create(3u), Vector256.Create(1u));
        var rLo1 = Vector512.Create(Vector256.Create(0u), Vector256.Create(30u));
        var rHi1 = Vector512.Create(Vector256.Create(31u), Vector256.Create(29u));
        for (int b = 0; b < n / 256; b++, w += 176, a += 292)
        {
            float da = *(float*)a;
            var scalesMins = KScalePacking.UnpackScaleMin6Vector(w + 4);
            var bs = Avx.LoadVector256((short*)(a + 260));
            var prodMin = Sse2.MultiplyAddAdjacent(Ssse3.HorizontalAdd(bs.GetLower(), bs.GetUpper()), scalesMins.GetUpper());
            summs = Q5_KCodec.AddMinTerm(summs, da, f16[*(ushort*)(w + 2)], prodMin);

            var sc = scalesMins.ToVector512Unsafe();
            var qh = BothHalves(w + 16).AsUInt32();
            sbyte* q8 = (sbyte*)(a + 4);
            var bits0 = Avx512F.LoadVector512(w + 48);
            var bits1 = Avx512F.LoadVector512(w + 112);
            var lo0 = (bits0 & lowMask) | (Avx512F.RotateLeftVariable(qh, rLo0).AsByte() & bit4);
            var hi0 = (Avx512BW.ShiftRightLogical(bits0.AsUInt16(), 4).AsByte() & lowMask) | (Avx512F.RotateLeftVariable(qh, rHi0).AsByte() & bit4);
            var lo1 = (bits1 & lowMask) | (Avx512F.RotateLeftVariable(qh, rLo1).AsByte() & bit4);
            var hi1 = (Avx512BW.ShiftRightLogical(bits1.AsUInt16(), 4).AsByte() & lowMask) | (Avx512F.RotateLeftVariable(qh, rHi1).AsByte() & bit4);
            var s = Madd(lo0, SimdOps.Load2(q8, q8 + 64), Avx512BW.PermuteVar32x16(sc, idxLo0));
            s += Madd(hi0, SimdOps.Load2(q8 + 32, q8 + 96), Avx512BW.PermuteVar32x16(sc, idxHi0));
            s += Madd(lo1, SimdOps.Load2(q8 + 128, q8 + 192), Avx512BW.PermuteVar32x16(sc, idxLo1));
            s += Madd(hi1, SimdOps.Load2(q8 + 160, q8 + 224), Avx512BW.PermuteVar32x16(sc, idxHi1));
            acc = Fma.MultiplyAdd(Vector256.Create(da * f16[*(ushort*)w]), Avx.ConvertToVector256Single(Fold(s)), acc);
        }
        return SimdOps.HorizontalSum(acc) + summs;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q6_K(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector256<float>.Zero;
        var lowMask = Vector512.Create((byte)0x0F);
        var two = Vector512.Create((byte)0x30);
        var idx0 = Quarters(0); var idx1 = Quarters(4); var idx2 = Quarters(8); var idx3 = Quarters(12);
        var shl42 = Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)2));
        var shr02 = Vector512.Create(Vector256.Create((ushort)0), Vector256.Create((ushort)2));
        for (int b = 0; b < n / 256; b++, w += 210, a += 292)
        {
            var sc16 = Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)(w + 192)));
            // Σ(q−32)·y = Σ q·y − 32·Σ_j sc_j·bsum_j
            var minus = Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(sc16, Avx.LoadVector256((short*)(a + 260))), 5);
            var sc = sc16.ToVector512Unsafe();
            sbyte* q8 = (sbyte*)(a + 4);
            var s = Vector512<int>.Zero;
            byte* ql = w;
            byte* qhp = w + 128;
            for (int half = 0; half < 2; half++, ql += 64, qhp += 32, q8 += 128)
            {
                var l = Avx512F.LoadVector512(ql);                // [ql 0..31 | ql 32..63] of this half
                var hb = BothHalves(qhp);
                // groups 0,1: low nibbles, high bits 0-1 / 2-3; groups 2,3: high nibbles, high bits 4-5 / 6-7
                var h01 = Avx512BW.ShiftLeftLogicalVariable(hb, shl42).AsByte() & two;
                var h23 = Avx512BW.ShiftRightLogicalVariable(hb, shr02).AsByte() & two;
                var q01 = (l & lowMask) | h01;
                var q23 = (Avx512BW.ShiftRightLogical(l.AsUInt16(), 4).AsByte() & lowMask) | h23;
                s += Madd(q01, Avx512F.LoadVector512(q8), Avx512BW.PermuteVar32x16(sc, half == 0 ? idx0 : idx2));
                s += Madd(q23, Avx512F.LoadVector512(q8 + 64), Avx512BW.PermuteVar32x16(sc, half == 0 ? idx1 : idx3));
            }
            var total = Avx2.Subtract(Fold(s), minus);
            acc = Fma.MultiplyAdd(Vector256.Create(*(float*)a * f16[*(ushort*)(w + 208)]), Avx.ConvertToVector256Single(total), acc);
        }
        return SimdOps.HorizontalSum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q2_K(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector256<float>.Zero;
        var mask2 = Vector512.Create((byte)3);
        var mask4 = Vector128.Create((byte)0xF);
        var shiftA = Vector512.Create(Vector256.Create((ushort)0), Vector256.Create((ushort)2));
        var shiftB = Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)6));
        var idx0 = Quarters(0); var idx1 = Quarters(4); var idx2 = Quarters(8); var idx3 = Quarters(12);
        for (int b = 0; b < n / 256; b++, w += 84, a += 292)
        {
            float da = *(float*)a;
            var packed = Sse2.LoadVector128(w);
            var mins = Avx2.ConvertToVector256Int16(Sse2.And(Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte(), mask4));
            var prodMin = Avx2.MultiplyAddAdjacent(mins, Avx.LoadVector256((short*)(a + 260)));
            acc = Fma.MultiplyAdd(Vector256.Create(-da * f16[*(ushort*)(w + 82)]), Avx.ConvertToVector256Single(prodMin), acc);

            var sc = Avx2.ConvertToVector256Int16(Sse2.And(packed, mask4)).ToVector512Unsafe();
            sbyte* q8 = (sbyte*)(a + 4);
            var d0 = BothHalves(w + 16);
            var d1 = BothHalves(w + 48);
            var s = Madd(Avx512BW.ShiftRightLogicalVariable(d0, shiftA).AsByte() & mask2, Avx512F.LoadVector512(q8), Avx512BW.PermuteVar32x16(sc, idx0));
            s += Madd(Avx512BW.ShiftRightLogicalVariable(d0, shiftB).AsByte() & mask2, Avx512F.LoadVector512(q8 + 64), Avx512BW.PermuteVar32x16(sc, idx1));
            s += Madd(Avx512BW.ShiftRightLogicalVariable(d1, shiftA).AsByte() & mask2, Avx512F.LoadVector512(q8 + 128), Avx512BW.PermuteVar32x16(sc, idx2));
            s += Madd(Avx512BW.ShiftRightLogicalVariable(d1, shiftB).AsByte() & mask2, Avx512F.LoadVector512(q8 + 192), Avx512BW.PermuteVar32x16(sc, idx3));
            acc = Fma.MultiplyAdd(Vector256.Create(da * f16[*(ushort*)(w + 80)]), Avx.ConvertToVector256Single(Fold(s)), acc);
        }
        return SimdOps.HorizontalSum(acc);
    }

    /// <summary>
    /// The same 32 bytes in both halves: a load, then the register inserted into its own upper half (no stack round
    /// trip). Not Avx512F.BroadcastVector256ToVector512 from memory: the .NET 10 JIT miscompiled that in Release.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ushort> BothHalves(byte* p)
    {
        var half = Avx.LoadVector256((ushort*)p);
        return Avx512F.InsertVector256(half.ToVector512Unsafe(), half, 1);
    }

    /// <summary>
    /// Q3_K, one register = two 32-element chunks: Σ sc·q·y as int32 lanes exactly as ggml's AVX2 kernel forms them.
    /// u = q + 4 = (low 2 bits) | 4·(hmask bit), the bit moved to position 2 by <paramref name="hmShift"/>; the −4 is taken
    /// off every pair of products (not once per block from bsums) so each lane holds ggml's partial sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Q3Pair(Vector512<ushort> bits, Vector512<ushort> bitShift, Vector512<ushort> hmBits,
        Vector512<ushort> hmShift, bool hmLeft, sbyte* y, Vector512<short> scales)
    {
        var low = Avx512BW.ShiftRightLogicalVariable(bits, bitShift).AsByte() & Vector512.Create((byte)3);
        var h = hmLeft ? Avx512BW.ShiftLeftLogicalVariable(hmBits, hmShift) : Avx512BW.ShiftRightLogicalVariable(hmBits, hmShift);
        var u = low | (h.AsByte() & Vector512.Create((byte)4));
        var q8 = Avx512F.LoadVector512(y);
        var pairs = Avx512BW.MultiplyAddAdjacent(u, q8) - Avx512BW.MultiplyAddAdjacent(Vector512.Create((byte)4), q8);
        return Avx512BW.MultiplyAddAdjacent(pairs, scales);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q3_K(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector256<float>.Zero;
        var shiftA = Vector512.Create(Vector256.Create((ushort)0), Vector256.Create((ushort)2));
        var shiftB = Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)6));
        // hmask bit 2c of chunk c to bit 2: left by 2, 1 for chunks 0, 1; right by 0, 1 / 2, 3 / 4, 5 for the rest
        var hs0 = Vector512.Create(Vector256.Create((ushort)2), Vector256.Create((ushort)1));
        var hs1 = Vector512.Create(Vector256.Create((ushort)0), Vector256.Create((ushort)1));
        var hs2 = Vector512.Create(Vector256.Create((ushort)2), Vector256.Create((ushort)3));
        var hs3 = Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)5));
        var idx0 = Quarters(0); var idx1 = Quarters(4); var idx2 = Quarters(8); var idx3 = Quarters(12);
        for (int b = 0; b < n / 256; b++, w += 110, a += 292)
        {
            var sc = Avx2.ConvertToVector256Int16(KQuantMath.UnpackQ3ScalesVector(w + 96)).ToVector512Unsafe();
            var hm = BothHalves(w);
            sbyte* q8 = (sbyte*)(a + 4);
            var d0 = BothHalves(w + 32);
            var d1 = BothHalves(w + 64);
            var s = Q3Pair(d0, shiftA, hm, hs0, true, q8, Avx512BW.PermuteVar32x16(sc, idx0));
            s += Q3Pair(d0, shiftB, hm, hs1, false, q8 + 64, Avx512BW.PermuteVar32x16(sc, idx1));
            s += Q3Pair(d1, shiftA, hm, hs2, false, q8 + 128, Avx512BW.PermuteVar32x16(sc, idx2));
            s += Q3Pair(d1, shiftB, hm, hs3, false, q8 + 192, Avx512BW.PermuteVar32x16(sc, idx3));
            acc = Fma.MultiplyAdd(Vector256.Create(*(float*)a * f16[*(ushort*)(w + 108)]), Avx.ConvertToVector256Single(Fold(s)), acc);
        }
        return SimdOps.HorizontalSum(acc);
    }
}
