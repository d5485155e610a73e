using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KimiSharp.Compute;

/// <summary>
/// The same reductions in the order of ggml-cpu's AVX2 build (GGML_F32_EPR 8, read from its source and disassembly):
/// <list type="bullet">
/// <item><b>ggml_vec_dot_f32</b>: four 8-lane FMA accumulators over 32-wide steps (acc k takes elements 32s + 8k +
/// lane), combined (a0+a2)+(a1+a3); lanes by GGML_F32x8_REDUCE: t_i = v_i + v_{i+4}, then two vhaddps,
/// (t0+t1)+(t2+t3). The n mod 32 leftovers as GCC compiled the scalar loop: groups of 8, then one of 4, as rounded
/// products added in order; the last 0–3 as scalar FMAs.</item>
/// <item><b>tinyBLAS</b> (KN = 8): one 8-lane FMA accumulator per output; hsum(__m256): t_i = v_i + v_{i+4}, then
/// (t0+t2)+(t1+t3).</item>
/// <item><b>ggml_vec_soft_max_f32</b>: the AVX2 ggml_v_expf 8 lanes at a time, each chunk reduced as tinyBLAS's hsum
/// and added to a double; a tail shorter than 8 uses libm expf.</item>
/// </list>
/// </summary>
public static unsafe partial class GgmlFloatOrder
{
    /// <summary>Lanes of the AVX2 build's register.</summary>
    public const int Avx2Lanes = 8;

    /// <summary>Floats reduced per step of <see cref="DotAvx2Build"/> (four accumulators of 8 lanes).</summary>
    public const int Avx2DotStep = 32;

    /// <summary>GGML_F32x8_REDUCE's lane sum of one register: t_i = v_i + v_{i+4}, then (t0+t1)+(t2+t3) (vhaddps twice).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ReduceLanesHadd(Vector256<float> v)
    {
        var t = v.GetLower() + v.GetUpper();
        return (t.GetElement(0) + t.GetElement(1)) + (t.GetElement(2) + t.GetElement(3));
    }

    /// <summary>hsum(__m256) of tinyBLAS, ggml's hsum_float_8 and the softmax: t_i = v_i + v_{i+4}, then (t0+t2)+(t1+t3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ReduceLanesMoveHigh(Vector256<float> v)
    {
        var t = v.GetLower() + v.GetUpper();
        return (t.GetElement(0) + t.GetElement(2)) + (t.GetElement(1) + t.GetElement(3));
    }

    /// <summary>ggml_vec_dot_f32 of the AVX2 build (see the summary of this part).</summary>
    public static float DotAvx2Build(float* x, float* y, int n)
    {
        int np = n & ~(Avx2DotStep - 1);
        var a0 = Vector256<float>.Zero; var a1 = Vector256<float>.Zero;
        var a2 = Vector256<float>.Zero; var a3 = Vector256<float>.Zero;
        for (int s = 0; s < np; s += Avx2DotStep)
        {
            a0 = Fma(x + s, y + s, a0);
            a1 = Fma(x + s + 8, y + s + 8, a1);
            a2 = Fma(x + s + 16, y + s + 16, a2);
            a3 = Fma(x + s + 24, y + s + 24, a3);
        }
        float sum = ReduceLanesHadd((a0 + a2) + (a1 + a3));
        int i = np;
        for (; n - i >= 8; i += 8)
            for (int k = 0; k < 8; k++)
                sum += x[i + k] * y[i + k];
        if (n - i >= 4)
        {
            for (int k = 0; k < 4; k++)
                sum += x[i + k] * y[i + k];
            i += 4;
        }
        for (; i < n; i++)
            sum = MathF.FusedMultiplyAdd(x[i], y[i], sum);
        return sum;
    }

    /// <summary>tinyBLAS's F32 dot in the AVX2 build: one 8-lane FMA accumulator over n (a multiple of 8), then hsum.</summary>
    public static float DotOneAccumulatorAvx2Build(float* x, float* y, int n)
    {
        if (n % Avx2Lanes != 0)
            throw new ArgumentException($"n must be a multiple of {Avx2Lanes}, got {n}", nameof(n));
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < n; i += Avx2Lanes)
            acc = Fma(x + i, y + i, acc);
        return ReduceLanesMoveHigh(acc);
    }

    /// <summary>
    /// ggml_vec_soft_max_f32 of the AVX2 build: y[i] = exp(x[i] − max) by <see cref="ExpAvx2Build"/> 8 at a time, each
    /// chunk's hsum added to a double; the last n mod 8 by libm expf. x and y may alias.
    /// </summary>
    public static double SoftmaxExpAvx2Build(float* y, float* x, float max, int n)
    {
        int i = 0;
        double sum = 0;
        var vmax = Vector256.Create(max);
        for (; i + Avx2Lanes - 1 < n; i += Avx2Lanes)
        {
            var e = ExpAvx2Build(Vector256.Load(x + i) - vmax);
            e.Store(y + i);
            sum += ReduceLanesMoveHigh(e);
        }
        for (; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            sum += e;
            y[i] = e;
        }
        return sum;
    }

    /// <summary>
    /// ggml_v_expf of the AVX2 build, lane-wise. As the AVX-512 one up to the polynomial, which here leaves out the
    /// constant 1: j = ((c5·b + c4)·u + (c3·b + c2))·u + c1·b, with k = 2ⁿ put together in the exponent bits of z
    /// (z's bits &lt;&lt; 23, plus the bits of 1.0), and the result k + k·j in one FMA. For |n| &gt; 126 the scale is
    /// split in two (s1·(s2 + s2·j)) and for |n| &gt; 192 the result is s1·s1 (+∞ or 0).
    /// </summary>
    public static Vector256<float> ExpAvx2Build(Vector256<float> x)
    {
        var (z, n, b) = ExpArgument(x);
        var e = Vector256.ShiftLeft(z.AsInt32(), 23);
        var k = (e + Vector256.Create(0x3F800000)).AsSingle();
        var absN = Vector256.Abs(n);
        var c = Vector256.GreaterThan(absN, Vector256.Create(126f));
        var j = ExpPolynomial(b, Vector256.Create(C1) * b);
        if (c == Vector256<float>.Zero)
            return Fma256(j, k, k);
        var g = Vector256.LessThanOrEqual(n, Vector256<float>.Zero).AsInt32() & Vector256.Create(unchecked((int)0x82000000));
        var s1 = (g + Vector256.Create(0x7F000000)).AsSingle();
        var s2 = (e - g).AsSingle();
        var d = Vector256.GreaterThan(absN, Vector256.Create(192f));
        var scaled = Vector256.ConditionalSelect(c, Fma256(s2, j, s2) * s1, Fma256(k, j, k));
        return Vector256.ConditionalSelect(d, s1 * s1, scaled);
    }
}
