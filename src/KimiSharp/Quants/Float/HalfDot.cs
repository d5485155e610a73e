using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.HalfWidening;

namespace KimiSharp.Quants;

/// <summary>
/// F16·F16 dot in exactly the order of ggml_vec_dot_f16 in ggml-cpu's AVX-512 build (read from its disassembly):
/// four 16-lane FMA accumulators over 64-wide steps (acc k takes elements 64s + 16k + lane), combined
/// (acc0 + acc2) + (acc1 + acc3), reduced by _mm512_reduce_add_ps, widened to double; the n mod 64 leftovers are
/// float products added to that double one at a time. A product of two halves is exact in float, so FMA and
/// mul+add agree and only the order of the sums matters.
/// <para>Our registers hold the same 64 lane sums in an even/odd layout (see <see cref="HalfWidening"/>): each of
/// our lanes accumulates the same products in the same order as one of ggml's, and the final combination undoes the
/// permutation (<see cref="EvenOddReduction"/>).</para>
/// </summary>
internal static unsafe class HalfDot
{
    /// <summary>Elements per step of the main loop (four accumulators of 16 lanes).</summary>
    public const int Step = 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx512(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        // even0/odd0: elements 0–31 of a step (ggml's acc0 in lanes 0–7, acc1 in lanes 8–15); even1/odd1: 32–63.
        Vector512<float> even0 = default, odd0 = default, even1 = default, odd1 = default;
        Vector512<short> pickLow = PickLow, pickHigh = PickHigh;
        Vector512<uint> biasBits = Vector512.Create(BiasBits);
        Vector512<ushort> one = Vector512.Create((ushort)0x0400), field = Vector512.Create((ushort)0x7800), belowNormal = Vector512.Create((ushort)0x0100);
        Vector512<byte> matrix = ExponentXorMatrix;
        int i = 0;
        while (i < np)
        {
            // the hot loop: steps whose 128 halves are all normal
            for (; i < np; i += Step)
            {
                var x0 = Vector512.Load((uint*)(x + i));
                var x1 = Vector512.Load((uint*)(x + i + 32));
                var y0 = Vector512.Load((uint*)(y + i));
                var y1 = Vector512.Load((uint*)(y + i + 32));
                bool allNormal = Gfni.V512.IsSupported
                    ? !Vector512.LessThanAny(Vector512.Min(Vector512.Min(ExponentClassGfni(x0, matrix), ExponentClassGfni(x1, matrix)), Vector512.Min(ExponentClassGfni(y0, matrix), ExponentClassGfni(y1, matrix))), belowNormal)
                    : !Vector512.EqualsAny(Vector512.Min(Vector512.Min(ExponentClass(x0, one, field), ExponentClass(x1, one, field)), Vector512.Min(ExponentClass(y0, one, field), ExponentClass(y1, one, field))), Vector512<ushort>.Zero);
                if (!allNormal)
                    break;
                var (w, a) = ScaledPair(x0, y0, pickLow, biasBits);
                even0 = Avx512F.FusedMultiplyAdd(w, a, even0);
                (w, a) = ScaledPair(x0, y0, pickHigh, biasBits);
                odd0 = Avx512F.FusedMultiplyAdd(w, a, odd0);
                (w, a) = ScaledPair(x1, y1, pickLow, biasBits);
                even1 = Avx512F.FusedMultiplyAdd(w, a, even1);
                (w, a) = ScaledPair(x1, y1, pickHigh, biasBits);
                odd1 = Avx512F.FusedMultiplyAdd(w, a, odd1);
            }
            if (i < np)
            {
                // a step with some zero, subnormal, Inf or NaN half: exact widening for the 32-element half(s) holding it
                var x0 = Vector512.Load((uint*)(x + i));
                var x1 = Vector512.Load((uint*)(x + i + 32));
                var y0 = Vector512.Load((uint*)(y + i));
                var y1 = Vector512.Load((uint*)(y + i + 32));
                if (AllNormal(x0, y0, one, field))
                {
                    var (w, a) = ScaledPair(x0, y0, pickLow, biasBits);
                    even0 = Avx512F.FusedMultiplyAdd(w, a, even0);
                    (w, a) = ScaledPair(x0, y0, pickHigh, biasBits);
                    odd0 = Avx512F.FusedMultiplyAdd(w, a, odd0);
                }
                else
                {
                    even0 = Avx512F.FusedMultiplyAdd(ExactLow(x0), ExactLow(y0), even0);
                    odd0 = Avx512F.FusedMultiplyAdd(ExactHigh(x0), ExactHigh(y0), odd0);
                }
                if (AllNormal(x1, y1, one, field))
                {
                    var (w, a) = ScaledPair(x1, y1, pickLow, biasBits);
                    even1 = Avx512F.FusedMultiplyAdd(w, a, even1);
                    (w, a) = ScaledPair(x1, y1, pickHigh, biasBits);
                    odd1 = Avx512F.FusedMultiplyAdd(w, a, odd1);
                }
                else
                {
                    even1 = Avx512F.FusedMultiplyAdd(ExactLow(x1), ExactLow(y1), even1);
                    odd1 = Avx512F.FusedMultiplyAdd(ExactHigh(x1), ExactHigh(y1), odd1);
                }
                i += Step;
            }
        }
        // lanes 0–7 of even0 + even1 are (acc0 + acc2)'s even lanes, lanes 8–15 (acc1 + acc3)'s
        var even = even0 + even1;
        var odd = odd0 + odd1;
        float sum = EvenOddReduction.Reduce(even.GetLower() + even.GetUpper(), odd.GetLower() + odd.GetUpper());
        return AddLeftovers(sum, x, y, np, n);
    }

    /// <summary>True when none of the 32 halves of x and of y is zero, subnormal, Inf or NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AllNormal(Vector512<uint> x, Vector512<uint> y, Vector512<ushort> one, Vector512<ushort> field) =>
        !Vector512.EqualsAny(Vector512.Min(ExponentClass(x, one, field), ExponentClass(y, one, field)), Vector512<ushort>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx2(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        // evenK/oddK: ggml's acc K (elements 16K..16K+15 of a step), its even and its odd lanes. With 16 ymm registers
        // the step is done as two halves (acc 0–1, then acc 2–3), each checked for zero/subnormal/Inf/NaN on its own.
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
        var zeroIfBad = Vector256.Min(
            Vector256.Min(Vector256.Min(ExponentClass(Vector256.Load(x), one, field), ExponentClass(Vector256.Load(x + 8), one, field)),
                Vector256.Min(ExponentClass(Vector256.Load(x + 16), one, field), ExponentClass(Vector256.Load(x + 24), one, field))),
            Vector256.Min(Vector256.Min(ExponentClass(Vector256.Load(y), one, field), ExponentClass(Vector256.Load(y + 8), one, field)),
                Vector256.Min(ExponentClass(Vector256.Load(y + 16), one, field), ExponentClass(Vector256.Load(y + 24), one, field))));
        return !Vector256.EqualsAny(zeroIfBad, Vector256<ushort>.Zero);
    }

    /// <summary>The same order with scalar floats (64 lane sums in an array): slow, for machines without AVX2.</summary>
    public static float Scalar(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        var acc = stackalloc float[Step];
        new Span<float>(acc, Step).Clear();
        for (int i = 0; i < np; i += Step)
            for (int k = 0; k < Step; k++)
                acc[k] += Fp16.ToFloat(x[i + k]) * Fp16.ToFloat(y[i + k]); // exact product: same as the FMA
        var lanes = stackalloc float[16];
        for (int j = 0; j < 16; j++)
            lanes[j] = (acc[j] + acc[32 + j]) + (acc[16 + j] + acc[48 + j]);
        for (int width = 8; width >= 1; width /= 2)
            for (int j = 0; j < width; j++)
                lanes[j] += lanes[j + width];
        return AddLeftovers(lanes[0], x, y, np, n);
    }

    /// <summary>ggml's leftover loop: the reduced sum widened to double, then each float product added in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float AddLeftovers(float reduced, ushort* x, ushort* y, int from, int n)
    {
        if (from == n)
            return reduced;
        double sum = reduced;
        for (int i = from; i < n; i++)
            sum += Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
        return (float)sum;
    }
}
