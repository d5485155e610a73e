using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KimiSharp.Quants;

/// <summary>
/// _mm512_reduce_add_ps (halving: lanes i+8, i+4, i+2, i+1) of a 16-lane register held as its even lanes and its odd
/// lanes (the layout <see cref="HalfWidening"/> produces). Halving keeps a lane's parity until the last step, so the
/// reduction is (halving sum of the even lanes) + (halving sum of the odd lanes).
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
}
