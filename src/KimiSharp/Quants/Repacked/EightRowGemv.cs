using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants.Repacked;

/// <summary>
/// The float step shared by the 8-row repacked-order gemv kernels (Q4_K, Q2_K): per block, each row's integer lane sums
/// are reduced to one total by transposition (row r in lane r; integer sums are exact in any order), converted, and
/// accumulated with the row's scale products — acc_r = fma(float(total_r), dd_r, acc_r), ggml's per-block gemv step —
/// the 8 rows' chains in one vector.
/// </summary>
internal static unsafe class EightRowGemv
{
    /// <summary>acc + float(Σ lanes of sums[r]) · dd[r], lane r for r = 0..7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Accumulate(Vector256<int>* sums, float* dd, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(Vector256.Create(Totals(sums[0], sums[1], sums[2], sums[3]),
            Totals(sums[4], sums[5], sums[6], sums[7]))), Avx.LoadVector256(dd), acc);

    /// <summary>The same for rows whose lane sums fit 4 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Accumulate(Vector128<int>* sums, float* dd, Vector256<float> acc) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(Vector256.Create(Totals(sums[0], sums[1], sums[2], sums[3]),
            Totals(sums[4], sums[5], sums[6], sums[7]))), Avx.LoadVector256(dd), acc);

    /// <summary>[Σ v0, Σ v1, Σ v2, Σ v3] of four 8-lane integer vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Totals(Vector256<int> v0, Vector256<int> v1, Vector256<int> v2, Vector256<int> v3)
    {
        var q = Avx2.HorizontalAdd(Avx2.HorizontalAdd(v0, v1), Avx2.HorizontalAdd(v2, v3)); // [Σlo v0..v3 | Σhi v0..v3]
        return Sse2.Add(q.GetLower(), q.GetUpper());
    }

    /// <summary>[Σ v0, Σ v1, Σ v2, Σ v3] of four 4-lane integer vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Totals(Vector128<int> v0, Vector128<int> v1, Vector128<int> v2, Vector128<int> v3) =>
        Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(v0, v1), Ssse3.HorizontalAdd(v2, v3));
}
