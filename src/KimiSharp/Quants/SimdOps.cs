using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>Small SIMD building blocks shared by the dot-product kernels.</summary>
internal static class SimdOps
{
    /// <summary>Per 32-bit lane: Σ of 4 products u8·s8 (vpdpbusd when AVX-VNNI is present, else pmaddubsw+pmaddwd).
    /// Without VNNI the pairwise 16-bit sums saturate: callers keep |u·s|·2 ≤ 32767.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotU8S8(Vector256<byte> u, Vector256<sbyte> s)
    {
        if (AvxVnni.IsSupported)
            return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, s);
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256.Create((short)1));
    }

    /// <summary>acc + per-lane Σ of 4 products u8·s8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotU8S8(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s)
    {
        if (AvxVnni.IsSupported)
            return AvxVnni.MultiplyWideningAndAdd(acc, u, s);
        return Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256.Create((short)1)));
    }

    /// <summary>Per 32-bit lane: Σ of 4 products s8·s8 (|x| · sign(y, x) trick).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotS8S8(Vector256<sbyte> x, Vector256<sbyte> y)
    {
        var ax = Avx2.Abs(x);
        var sy = Avx2.Sign(y, x);
        return DotU8S8(ax, sy);
    }

    /// <summary>Per 16-bit lane: pairwise Σ of u8·s8 (pmaddubsw), used where 16-bit partial sums are scaled next.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> MaddUbs(Vector256<byte> u, Vector256<sbyte> s) => Avx2.MultiplyAddAdjacent(u, s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HorizontalSum(Vector256<float> v)
    {
        var s = Sse.Add(v.GetLower(), v.GetUpper());
        s = Sse.Add(s, Sse.MoveHighToLow(s, s));
        s = Sse.AddScalar(s, Sse.Shuffle(s, s, 1));
        return s.ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HorizontalSum(Vector512<float> v) => HorizontalSum(Avx.Add(v.GetLower(), v.GetUpper()));

    /// <summary>16 packed bytes → 32 nibbles: low nibbles in bytes 0..15, high nibbles in 16..31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<byte> Nibbles16(byte* p)
    {
        var b = Sse2.LoadVector128(p);
        var both = Vector256.Create(b, Sse2.ShiftRightLogical(b.AsUInt16(), 4).AsByte());
        return Avx2.And(both, Vector256.Create((byte)0x0F));
    }

    /// <summary>32 bits → 32 bytes: byte j = 0xFF when bit j is set, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> BitsToBytes(uint bits)
    {
        var spreadIndex = Vector256.Create(
            (byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var bitOfByte = Vector256.Create(0x8040201008040201UL).AsByte();
        var spread = Avx2.Shuffle(Vector256.Create(bits).AsByte(), spreadIndex);
        return Avx2.CompareEqual(Avx2.And(spread, bitOfByte), bitOfByte);
    }

    /// <summary>
    /// From 8 16-bit scales held in both 128-bit lanes of <paramref name="dup"/>: lanes 0..7 = scale 2k, lanes 8..15 = scale 2k+1
    /// (the two 16-element sub-blocks of a 32-element group, matching pmaddubsw's output order).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> PairScale(Vector256<short> dup, [System.Diagnostics.CodeAnalysis.ConstantExpected(Min = 0, Max = 3)] int k)
    {
        var mask = k switch
        {
            0 => Vector256.Create((byte)0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3),
            1 => Vector256.Create((byte)4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7),
            2 => Vector256.Create((byte)8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11),
            _ => Vector256.Create((byte)12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15),
        };
        return Avx2.Shuffle(dup.AsByte(), mask).AsInt16();
    }

    /// <summary>The same 8 shorts in both 128-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Duplicate(Vector128<short> v) => Vector256.Create(v, v);

    /// <summary>
    /// [lo, hi] as one 512-bit vector, in registers. .NET 10's JIT builds <c>Vector512.Create(lo, hi)</c> of non-constant
    /// halves through a stack slot, which inside a loop costs a store/reload chain (it halved the IQ4_NL kernel's speed).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Join<T>(Vector256<T> lo, Vector256<T> hi) =>
        Avx512F.InsertVector256(lo.AsByte().ToVector512Unsafe(), hi.AsByte(), 1).As<byte, T>();

    /// <summary>32 bytes at <paramref name="lo"/> then 32 at <paramref name="hi"/>, as one 512-bit vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<sbyte> Load2(sbyte* lo, sbyte* hi) => Join(Avx.LoadVector256(lo), Avx.LoadVector256(hi));
}
