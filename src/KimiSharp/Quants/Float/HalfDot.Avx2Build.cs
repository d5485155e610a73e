using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static KimiSharp.Quants.HalfWidening;

namespace KimiSharp.Quants;

/// <summary>
/// ggml_vec_dot_f16 in the order of ggml-cpu's AVX2 build (GGML_F16_EPR 8, F16C loads, from its disassembly): four
/// 8-lane FMA accumulators over 32-wide steps (acc k takes elements 32s + 8k + lane), combined (a0+a2)+(a1+a3), lanes
/// reduced as GGML_F32x8_REDUCE (t_i = v_i + v_{i+4}, then (t0+t1)+(t2+t3)), widened to double; the n mod 32
/// leftovers are float products added to that double one at a time (<see cref="AddLeftovers"/>).
/// <para>16 halves read as 8 pairs give the even elements (<see cref="HalfWidening.ExactLow(Vector256{uint})"/>) and
/// the odd ones: lanes 0–3 of the even register are acc0's lanes 0, 2, 4, 6, lanes 4–7 acc1's; the reduction
/// undoes that layout (<see cref="EvenOddReduction.Avx2Hadd"/>). Steps whose halves are all normal widen with
/// <see cref="HalfWidening.ScaledPair(Vector256{uint}, Vector256{uint}, Vector256{short}, Vector256{uint})"/>, the others exactly.</para>
/// </summary>
internal static unsafe partial class HalfDot
{
    /// <summary>Elements per step of the AVX2 build's loop.</summary>
    public const int Avx2BuildStep = 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx2Build(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Avx2BuildStep - 1);
        Vector256<float> even01 = default, odd01 = default, even23 = default, odd23 = default;
        Vector256<short> pickLow = PickLow.GetLower(), pickHigh = PickHigh.GetLower();
        Vector256<uint> biasBits = Vector256.Create(BiasBits);
        Vector256<ushort> one = Vector256.Create((ushort)0x0400), field = Vector256.Create((ushort)0x7800);
        for (int i = 0; i < np; i += Avx2BuildStep)
        {
            var x01 = Vector256.Load((uint*)(x + i));
            var y01 = Vector256.Load((uint*)(y + i));
            var x23 = Vector256.Load((uint*)(x + i + 16));
            var y23 = Vector256.Load((uint*)(y + i + 16));
            var zeroIfAny = Vector256.Min(Vector256.Min(ExponentClass(x01, one, field), ExponentClass(y01, one, field)),
                Vector256.Min(ExponentClass(x23, one, field), ExponentClass(y23, one, field)));
            if (!Vector256.EqualsAny(zeroIfAny, Vector256<ushort>.Zero))
            {
                // all 64 halves normal: the 3-op widening (same products, exactly)
                var (w, a) = ScaledPair(x01, y01, pickLow, biasBits);
                even01 = Compute.GgmlFloatOrder.Fma256(w, a, even01);
                (w, a) = ScaledPair(x01, y01, pickHigh, biasBits);
                odd01 = Compute.GgmlFloatOrder.Fma256(w, a, odd01);
                (w, a) = ScaledPair(x23, y23, pickLow, biasBits);
                even23 = Compute.GgmlFloatOrder.Fma256(w, a, even23);
                (w, a) = ScaledPair(x23, y23, pickHigh, biasBits);
                odd23 = Compute.GgmlFloatOrder.Fma256(w, a, odd23);
            }
            else
            {
                // a zero, subnormal, Inf or NaN somewhere in the step: exact widening
                even01 = Compute.GgmlFloatOrder.Fma256(ExactLow(x01), ExactLow(y01), even01);
                odd01 = Compute.GgmlFloatOrder.Fma256(ExactHigh(x01), ExactHigh(y01), odd01);
                even23 = Compute.GgmlFloatOrder.Fma256(ExactLow(x23), ExactLow(y23), even23);
                odd23 = Compute.GgmlFloatOrder.Fma256(ExactHigh(x23), ExactHigh(y23), odd23);
            }
        }
        // A = a0+a2, B = a1+a3: the reduction's v = (a0+a2)+(a1+a3)
        return AddLeftovers(EvenOddReduction.Avx2Hadd(even01 + even23, odd01 + odd23), x, y, np, n);
    }

    /// <summary>The AVX2 build's order with scalar floats (32 lane sums in an array): the reference for <see cref="Avx2Build"/>.</summary>
    public static float ScalarAvx2Build(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Avx2BuildStep - 1);
        var acc = stackalloc float[Avx2BuildStep];
        new Span<float>(acc, Avx2BuildStep).Clear();
        for (int i = 0; i < np; i += Avx2BuildStep)
            for (int k = 0; k < Avx2BuildStep; k++)
                acc[k] += Fp16.ToFloat(x[i + k]) * Fp16.ToFloat(y[i + k]); // exact product: same as the FMA
        var v = stackalloc float[8];
        for (int l = 0; l < 8; l++)
            v[l] = (acc[l] + acc[16 + l]) + (acc[8 + l] + acc[24 + l]);
        float sum = ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
        return AddLeftovers(sum, x, y, np, n);
    }
}
