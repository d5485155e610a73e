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
/// permutation (<see cref="EvenOddReduction"/>). Steps whose halves are all normal take the 3-op widening
/// (<see cref="HalfWidening.ScaledPair(Vector512{uint}, Vector512{uint}, Vector512{short}, Vector512{uint})"/>);
/// a 32-element half-step holding a zero, subnormal, Inf or NaN takes the exact one.</para>
/// </summary>
internal static unsafe partial class HalfDot
{
    /// <summary>Elements per step of the main loop (four accumulators of 16 lanes).</summary>
    public const int Step = 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx512(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        // even0/odd0: elements 0–31 of a step (ggml's acc0 in lanes 0–7, acc1 in lanes 8–15); even1/odd1: 32–63.
        Vector512<float> even0 = default, odd0 = default, even1 = default, odd1 = default;
        var k = new Constants512(PickLow, PickHigh, Vector512.Create(BiasBits), Vector512.Create((ushort)0x0400), Vector512.Create((ushort)0x7800), Vector512.Create((ushort)0x0100), ExponentXorMatrix);
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
                    ? !Vector512.LessThanAny(Vector512.Min(Vector512.Min(ExponentClassGfni(x0, k.Matrix), ExponentClassGfni(x1, k.Matrix)), Vector512.Min(ExponentClassGfni(y0, k.Matrix), ExponentClassGfni(y1, k.Matrix))), k.BelowNormal)
                    : !Vector512.EqualsAny(Vector512.Min(Vector512.Min(ExponentClass(x0, k.One, k.Field), ExponentClass(x1, k.One, k.Field)), Vector512.Min(ExponentClass(y0, k.One, k.Field), ExponentClass(y1, k.One, k.Field))), Vector512<ushort>.Zero);
                if (!allNormal)
                    break;
                (even0, odd0) = AccumulateNormal(x0, y0, even0, odd0, k);
                (even1, odd1) = AccumulateNormal(x1, y1, even1, odd1, k);
            }
            if (i < np)
            {
                // a step with some zero, subnormal, Inf or NaN half: the exact widening where it is
                var x0 = Vector512.Load((uint*)(x + i));
                var x1 = Vector512.Load((uint*)(x + i + 32));
                var y0 = Vector512.Load((uint*)(y + i));
                var y1 = Vector512.Load((uint*)(y + i + 32));
                (even0, odd0) = AllNormal(x0, y0, k) ? AccumulateNormal(x0, y0, even0, odd0, k) : AccumulateExact(x0, y0, even0, odd0);
                (even1, odd1) = AllNormal(x1, y1, k) ? AccumulateNormal(x1, y1, even1, odd1, k) : AccumulateExact(x1, y1, even1, odd1);
                i += Step;
            }
        }
        // lanes 0–7 of even0 + even1 are (acc0 + acc2)'s even lanes, lanes 8–15 (acc1 + acc3)'s
        var even = even0 + even1;
        var odd = odd0 + odd1;
        float sum = EvenOddReduction.Reduce(even.GetLower() + even.GetUpper(), odd.GetLower() + odd.GetUpper());
        return AddLeftovers(sum, x, y, np, n);
    }

    /// <summary>Loop constants (kept in registers).</summary>
    private readonly record struct Constants512(
        Vector512<short> PickLow, Vector512<short> PickHigh, Vector512<uint> BiasBits,
        Vector512<ushort> One, Vector512<ushort> Field, Vector512<ushort> BelowNormal, Vector512<byte> Matrix);

    /// <summary>even/odd += the 32 products of x and y, all of them normal halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> Even, Vector512<float> Odd) AccumulateNormal(Vector512<uint> x, Vector512<uint> y, Vector512<float> even, Vector512<float> odd, in Constants512 k)
    {
        var (w, a) = ScaledPair(x, y, k.PickLow, k.BiasBits);
        even = Avx512F.FusedMultiplyAdd(w, a, even);
        (w, a) = ScaledPair(x, y, k.PickHigh, k.BiasBits);
        return (even, Avx512F.FusedMultiplyAdd(w, a, odd));
    }

    /// <summary>even/odd += the 32 products of x and y, any halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> Even, Vector512<float> Odd) AccumulateExact(Vector512<uint> x, Vector512<uint> y, Vector512<float> even, Vector512<float> odd) =>
        (Avx512F.FusedMultiplyAdd(ExactLow(x), ExactLow(y), even), Avx512F.FusedMultiplyAdd(ExactHigh(x), ExactHigh(y), odd));

    /// <summary>True when none of the 32 halves of x and of y is zero, subnormal, Inf or NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AllNormal(Vector512<uint> x, Vector512<uint> y, in Constants512 k) =>
        !Vector512.EqualsAny(Vector512.Min(ExponentClass(x, k.One, k.Field), ExponentClass(y, k.One, k.Field)), Vector512<ushort>.Zero);

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
    internal static float AddLeftovers(float reduced, ushort* x, ushort* y, int from, int n)
    {
        if (from == n)
            return reduced;
        double sum = reduced;
        for (int i = from; i < n; i++)
            sum += Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
        return (float)sum;
    }
}
