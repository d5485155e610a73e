using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants.Repacked;

/// <summary>Horizontal integer sums for the Q4_0 / IQ4_NL repacked-order kernels (integers: any order is exact).</summary>
internal static class Q40RepackedSums
{
    /// <summary>The 8 lane sums of one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Sum(Vector256<int> v)
    {
        var s = Sse2.Add(v.GetLower(), v.GetUpper());
        s = Sse2.Add(s, Sse2.Shuffle(s, 0b01_00_11_10));
        s = Sse2.Add(s, Sse2.Shuffle(s, 0b10_11_00_01));
        return s.ToScalar();
    }

    /// <summary>sums[k] = Σ lanes of p_k for 8 vectors (three rounds of pairwise adds, then the two halves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store8(int* sums, Vector256<int> p0, Vector256<int> p1, Vector256<int> p2, Vector256<int> p3,
        Vector256<int> p4, Vector256<int> p5, Vector256<int> p6, Vector256<int> p7)
    {
        var h0123 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(p0, p1), Avx2.HorizontalAdd(p2, p3));
        var h4567 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(p4, p5), Avx2.HorizontalAdd(p6, p7));
        // per 128-bit half: [s0 s1 s2 s3] partial sums; add the halves
        Sse2.Store(sums, Sse2.Add(h0123.GetLower(), h0123.GetUpper()));
        Sse2.Store(sums + 4, Sse2.Add(h4567.GetLower(), h4567.GetUpper()));
    }

    /// <summary>Lane k = Σ lanes of p_k: the 8 sums in one vector (as <see cref="Store8"/>, kept in a register).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Transpose8(Vector256<int> p0, Vector256<int> p1, Vector256<int> p2, Vector256<int> p3,
        Vector256<int> p4, Vector256<int> p5, Vector256<int> p6, Vector256<int> p7)
    {
        var h0123 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(p0, p1), Avx2.HorizontalAdd(p2, p3));
        var h4567 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(p4, p5), Avx2.HorizontalAdd(p6, p7));
        return Avx2.Add(Avx2.Permute2x128(h0123, h4567, 0x20), Avx2.Permute2x128(h0123, h4567, 0x31));
    }

    /// <summary>fp16 scales of 8 rows (at w + k·rowBytes) as floats, exact (through the fp16 table).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Scales8(byte* w, long rowBytes, float* f16) => Vector256.Create(
        f16[*(ushort*)w], f16[*(ushort*)(w + rowBytes)], f16[*(ushort*)(w + 2 * rowBytes)], f16[*(ushort*)(w + 3 * rowBytes)],
        f16[*(ushort*)(w + 4 * rowBytes)], f16[*(ushort*)(w + 5 * rowBytes)], f16[*(ushort*)(w + 6 * rowBytes)], f16[*(ushort*)(w + 7 * rowBytes)]);
}
