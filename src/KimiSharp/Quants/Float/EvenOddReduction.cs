using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KimiSharp.Quants;

/// <summary>
/// _mm512_reduce_add_ps (halving: lanes i+8, i+4, i+2, i+1) of a 16-lane register held as its even lanes and its odd
/// lanes (the layout <see cref="HalfWidening"/> produces). Halving keeps a lane's parity until the last step, so the
/// reduction is (halving sum of the even lanes) + (halving sum of the odd lanes). Also the AVX2 build's 8-lane
/// reductions of the sum of two registers held that way (<see cref="Avx2Hadd"/>, <see cref="Avx2MoveHigh"/>).
/// </summary>
internal static class EvenOddReduction
{
    /// <summary>_mm512_reduce_add_ps of the register whose lane 2i is even[i] and lane 2i+1 is odd[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Reduce(Vector256<float> even, Vector256<float> odd) => Halving(even) + Halving(odd);

    /// <summary>Σ of 8 lanes by halving: lanes i+4, then i+2, then i+1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Halving(Vector256<float> v)
    {
        var u = v.GetLower() + v.GetUpper();
        return (u.GetElement(0) + u.GetElement(2)) + (u.GetElement(1) + u.GetElement(3));
    }

    /// <summary>
    /// The AVX2 build's 8-lane reduction of v = A + B, for A and B two 8-lane registers of a 16-element run (A elements
    /// 0–7, B elements 8–15) held in that run's even/odd layout: lanes 0–3 of <paramref name="even"/> are A's lanes 0, 2,
    /// 4, 6 and lanes 4–7 B's; <paramref name="odd"/> the same for lanes 1, 3, 5, 7. GGML_F32x8_REDUCE: v_l = A_l + B_l,
    /// t_i = v_i + v_{i+4}, then (t0+t1)+(t2+t3) (two vhaddps).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Avx2Hadd(Vector256<float> even, Vector256<float> odd)
    {
        var (t0, t1, t2, t3) = Avx2Pairs(even, odd);
        return (t0 + t1) + (t2 + t3);
    }

    /// <summary>As <see cref="Avx2Hadd"/> with hsum(__m256)'s last steps: (t0+t2)+(t1+t3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Avx2MoveHigh(Vector256<float> even, Vector256<float> odd)
    {
        var (t0, t1, t2, t3) = Avx2Pairs(even, odd);
        return (t0 + t2) + (t1 + t3);
    }

    /// <summary>v_l = A_l + B_l, then t_i = v_i + v_{i+4}, from the even/odd layout.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float T0, float T1, float T2, float T3) Avx2Pairs(Vector256<float> even, Vector256<float> odd)
    {
        var ve = even.GetLower() + even.GetUpper(); // v0, v2, v4, v6
        var vo = odd.GetLower() + odd.GetUpper();   // v1, v3, v5, v7
        return (ve.GetElement(0) + ve.GetElement(2), vo.GetElement(0) + vo.GetElement(2),
            ve.GetElement(1) + ve.GetElement(3), vo.GetElement(1) + vo.GetElement(3));
    }
}
