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
        Vector512<uint> wBias = Vector512.Create(WeightBias), aBias = Vector512.Create(ActivationBias);
        Vector512<ushort> one = Vector512.Create((ushort)0x0400), field = Vector512.Create((ushort)0x7800);
        for (int i = 0; i < np; i += Step)
        {
            var x0 = Vector512.Load((uint*)(x + i));
            var x1 = Vector512.Load((uint*)(x + i + 32));
            var y0 = Vector512.Load((uint*)(y + i));
            var y1 = Vector512.Load((uint*)(y + i + 32));
            var least = Vector512.Min(Vector512.Min(ExponentClass(x0, one, field), ExponentClass(x1, one, field)), Vector512.Min(ExponentClass(y0, one, field), ExponentClass(y1, one, field)));
            if (!Vector512.EqualsAny(least, Vector512<ushort>.Zero))
            {
                even0 = Avx512F.FusedMultiplyAdd(Scaled(x0, pickLow, wBias), Scaled(y0, pickLow, aBias), even0);
                odd0 = Avx512F.FusedMultiplyAdd(Scaled(x0, pickHigh, wBias), Scaled(y0, pickHigh, aBias), odd0);
                even1 = Avx512F.FusedMultiplyAdd(Scaled(x1, pickLow, wBias), Scaled(y1, pickLow, aBias), even1);
                odd1 = Avx512F.FusedMultiplyAdd(Scaled(x1, pickHigh, wBias), Scaled(y1, pickHigh, aBias), odd1);
            }
            else
            {
                even0 = Avx512F.FusedMultiplyAdd(ExactLow(x0), ExactLow(y0), even0);
                odd0 = Avx512F.FusedMultiplyAdd(ExactHigh(x0), ExactHigh(y0), odd0);
                even1 = Avx512F.FusedMultiplyAdd(ExactLow(x1), ExactLow(y1), even1);
                odd1 = Avx512F.FusedMultiplyAdd(ExactHigh(x1), ExactHigh(y1), odd1);
            }
        }
        // lanes 0–7 of even0 + even1 are (acc0 + acc2)'s even lanes, lanes 8–15 (acc1 + acc3)'s
        var even = even0 + even1;
        var odd = odd0 + odd1;
        float sum = EvenOddReduction.Reduce(even.GetLower() + even.GetUpper(), odd.GetLower() + odd.GetUpper());
        return AddLeftovers(sum, x, y, np, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx2(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        // evenK/oddK: ggml's acc K (elements 16K..16K+15 of a step), its even and its odd lanes.
        Vector256<float> even0 = default, odd0 = default, even1 = default, odd1 = default;
        Vector256<float> even2 = default, odd2 = default, even3 = default, odd3 = default;
        for (int i = 0; i < np; i += Step)
        {
            var x0 = Vector256.Load((uint*)(x + i));
            var x1 = Vector256.Load((uint*)(x + i + 16));
            var x2 = Vector256.Load((uint*)(x + i + 32));
            var x3 = Vector256.Load((uint*)(x + i + 48));
            var y0 = Vector256.Load((uint*)(y + i));
            var y1 = Vector256.Load((uint*)(y + i + 16));
            var y2 = Vector256.Load((uint*)(y + i + 32));
            var y3 = Vector256.Load((uint*)(y + i + 48));
            var special = (ZeroExponentOrSpecialMask(x0) | ZeroExponentOrSpecialMask(x1)) | (ZeroExponentOrSpecialMask(x2) | ZeroExponentOrSpecialMask(x3))
                | (ZeroExponentOrSpecialMask(y0) | ZeroExponentOrSpecialMask(y1)) | (ZeroExponentOrSpecialMask(y2) | ZeroExponentOrSpecialMask(y3));
            if (special == Vector256<ushort>.Zero)
            {
                even0 = Fma.MultiplyAdd(ScaledLow(x0, WeightBias), ScaledLow(y0, ActivationBias), even0);
                odd0 = Fma.MultiplyAdd(ScaledHigh(x0, WeightBias), ScaledHigh(y0, ActivationBias), odd0);
                even1 = Fma.MultiplyAdd(ScaledLow(x1, WeightBias), ScaledLow(y1, ActivationBias), even1);
                odd1 = Fma.MultiplyAdd(ScaledHigh(x1, WeightBias), ScaledHigh(y1, ActivationBias), odd1);
                even2 = Fma.MultiplyAdd(ScaledLow(x2, WeightBias), ScaledLow(y2, ActivationBias), even2);
                odd2 = Fma.MultiplyAdd(ScaledHigh(x2, WeightBias), ScaledHigh(y2, ActivationBias), odd2);
                even3 = Fma.MultiplyAdd(ScaledLow(x3, WeightBias), ScaledLow(y3, ActivationBias), even3);
                odd3 = Fma.MultiplyAdd(ScaledHigh(x3, WeightBias), ScaledHigh(y3, ActivationBias), odd3);
            }
            else
            {
                even0 = Fma.MultiplyAdd(ExactLow(x0), ExactLow(y0), even0);
                odd0 = Fma.MultiplyAdd(ExactHigh(x0), ExactHigh(y0), odd0);
                even1 = Fma.MultiplyAdd(ExactLow(x1), ExactLow(y1), even1);
                odd1 = Fma.MultiplyAdd(ExactHigh(x1), ExactHigh(y1), odd1);
                even2 = Fma.MultiplyAdd(ExactLow(x2), ExactLow(y2), even2);
                odd2 = Fma.MultiplyAdd(ExactHigh(x2), ExactHigh(y2), odd2);
                even3 = Fma.MultiplyAdd(ExactLow(x3), ExactLow(y3), even3);
                odd3 = Fma.MultiplyAdd(ExactHigh(x3), ExactHigh(y3), odd3);
            }
        }
        float sum = EvenOddReduction.Reduce((even0 + even2) + (even1 + even3), (odd0 + odd2) + (odd1 + odd3));
        return AddLeftovers(sum, x, y, np, n);
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
