using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.HalfWidening;

namespace KimiSharp.Quants;

/// <summary>ggml_vec_dot_f16's AVX-512 order (see the other part) on 256-bit registers, for AVX2 machines.</summary>
internal static unsafe partial class HalfDot
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx2(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        // evenK/oddK: ggml's acc K (elements 16K..16K+15 of a step), its even and its odd lanes: the eight take 8 of the
        // 16 ymm registers, so operands are loaded where they are used.
        Vector256<float> even0 = default, odd0 = default, even1 = default, odd1 = default;
        Vector256<float> even2 = default, odd2 = default, even3 = default, odd3 = default;
        Vector256<short> pickLow = PickLow.GetLower(), pickHigh = PickHigh.GetLower();
        Vector256<uint> biasBits = Vector256.Create(BiasBits);
        int i = 0;
        while (i < np)
        {
            // the hot loop: steps whose 128 halves are all normal
            for (; i < np; i += Step)
            {
                if (!AllNormal((uint*)(x + i), (uint*)(y + i)))
                    break;
                var (w0, a0) = ScaledPair(Load(x + i), Load(y + i), pickLow, biasBits);
                even0 = Fma.MultiplyAdd(w0, a0, even0);
                (w0, a0) = ScaledPair(Load(x + i), Load(y + i), pickHigh, biasBits);
                odd0 = Fma.MultiplyAdd(w0, a0, odd0);
                var (w1, a1) = ScaledPair(Load(x + i + 16), Load(y + i + 16), pickLow, biasBits);
                even1 = Fma.MultiplyAdd(w1, a1, even1);
                (w1, a1) = ScaledPair(Load(x + i + 16), Load(y + i + 16), pickHigh, biasBits);
                odd1 = Fma.MultiplyAdd(w1, a1, odd1);
                var (w2, a2) = ScaledPair(Load(x + i + 32), Load(y + i + 32), pickLow, biasBits);
                even2 = Fma.MultiplyAdd(w2, a2, even2);
                (w2, a2) = ScaledPair(Load(x + i + 32), Load(y + i + 32), pickHigh, biasBits);
                odd2 = Fma.MultiplyAdd(w2, a2, odd2);
                var (w3, a3) = ScaledPair(Load(x + i + 48), Load(y + i + 48), pickLow, biasBits);
                even3 = Fma.MultiplyAdd(w3, a3, even3);
                (w3, a3) = ScaledPair(Load(x + i + 48), Load(y + i + 48), pickHigh, biasBits);
                odd3 = Fma.MultiplyAdd(w3, a3, odd3);
            }
            if (i < np)
            {
                // a step with some zero, subnormal, Inf or NaN half: exact widening
                even0 = Fma.MultiplyAdd(ExactLow(Load(x + i)), ExactLow(Load(y + i)), even0);
                odd0 = Fma.MultiplyAdd(ExactHigh(Load(x + i)), ExactHigh(Load(y + i)), odd0);
                even1 = Fma.MultiplyAdd(ExactLow(Load(x + i + 16)), ExactLow(Load(y + i + 16)), even1);
                odd1 = Fma.MultiplyAdd(ExactHigh(Load(x + i + 16)), ExactHigh(Load(y + i + 16)), odd1);
                even2 = Fma.MultiplyAdd(ExactLow(Load(x + i + 32)), ExactLow(Load(y + i + 32)), even2);
                odd2 = Fma.MultiplyAdd(ExactHigh(Load(x + i + 32)), ExactHigh(Load(y + i + 32)), odd2);
                even3 = Fma.MultiplyAdd(ExactLow(Load(x + i + 48)), ExactLow(Load(y + i + 48)), even3);
                odd3 = Fma.MultiplyAdd(ExactHigh(Load(x + i + 48)), ExactHigh(Load(y + i + 48)), odd3);
                i += Step;
            }
        }
        float sum = EvenOddReduction.Reduce((even0 + even2) + (even1 + even3), (odd0 + odd2) + (odd1 + odd3));
        return AddLeftovers(sum, x, y, np, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Load(ushort* p) => Vector256.Load((uint*)p);

    /// <summary>True when none of the 64 halves of x and of y from here is zero, subnormal, Inf or NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AllNormal(uint* x, uint* y)
    {
        if (Gfni.V256.IsSupported)
        {
            var m = ExponentXorMatrix.GetLower();
            var least = Vector256.Min(
                Vector256.Min(Vector256.Min(ExponentClassGfni(Vector256.Load(x), m), ExponentClassGfni(Vector256.Load(x + 8), m)),
                    Vector256.Min(ExponentClassGfni(Vector256.Load(x + 16), m), ExponentClassGfni(Vector256.Load(x + 24), m))),
                Vector256.Min(Vector256.Min(ExponentClassGfni(Vector256.Load(y), m), ExponentClassGfni(Vector256.Load(y + 8), m)),
                    Vector256.Min(ExponentClassGfni(Vector256.Load(y + 16), m), ExponentClassGfni(Vector256.Load(y + 24), m))));
            return !Vector256.LessThanAny(least, Vector256.Create((ushort)0x0100));
        }
        Vector256<ushort> one = Vector256.Create((ushort)0x0400), field = Vector256.Create((ushort)0x7800);
        var zeroIfAny = Vector256.Min(
            Vector256.Min(Vector256.Min(ExponentClass(Vector256.Load(x), one, field), ExponentClass(Vector256.Load(x + 8), one, field)),
                Vector256.Min(ExponentClass(Vector256.Load(x + 16), one, field), ExponentClass(Vector256.Load(x + 24), one, field))),
            Vector256.Min(Vector256.Min(ExponentClass(Vector256.Load(y), one, field), ExponentClass(Vector256.Load(y + 8), one, field)),
                Vector256.Min(ExponentClass(Vector256.Load(y + 16), one, field), ExponentClass(Vector256.Load(y + 24), one, field))));
        return !Vector256.EqualsAny(zeroIfAny, Vector256<ushort>.Zero);
    }
}
