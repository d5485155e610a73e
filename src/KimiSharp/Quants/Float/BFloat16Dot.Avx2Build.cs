using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KimiSharp.Quants;

/// <summary>
/// ggml_vec_dot_bf16 in the order of ggml-cpu's AVX2 build (its __AVX2__ path, from source and disassembly): four 8-lane
/// accumulators c1..c4 over 32-wide steps (c_k takes elements 32s + 8(k−1) + lane), mul+add fused by the compiler into
/// vfmadd231ps, combined (c1+c3)+(c2+c4), lanes reduced t_i = v_i + v_{i+4} then (t0+t2)+(t1+t3), added to a double
/// 0.0; the n mod 32 leftovers are float products added to the double one at a time. Registers hold the even/odd
/// layout of <see cref="HalfDot.Avx2Build"/>.
/// </summary>
internal static unsafe partial class BFloat16Dot
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx2Build(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        var (even01, odd01, even23, odd23) = Accumulate256(x, y, np);
        // A = c1+c3, B = c2+c4; + 0f: the double is 0.0 + the reduced sum, as ggml's
        return Finish(EvenOddReduction.Avx2MoveHigh(even01 + even23, odd01 + odd23), 0f, x, y, np, n);
    }

    /// <summary>The AVX2 build's order with scalar floats (32 lane sums in an array): the reference for <see cref="Avx2Build"/>.</summary>
    public static float ScalarAvx2Build(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        var acc = stackalloc float[Step];
        new Span<float>(acc, Step).Clear();
        for (int i = 0; i < np; i += Step)
            for (int k = 0; k < Step; k++)
                acc[k] = MathF.FusedMultiplyAdd(Fp16.BF16ToFloat(x[i + k]), Fp16.BF16ToFloat(y[i + k]), acc[k]);
        var v = stackalloc float[8];
        for (int l = 0; l < 8; l++)
            v[l] = (acc[l] + acc[16 + l]) + (acc[8 + l] + acc[24 + l]);
        float sum = ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
        return Finish(sum, 0f, x, y, np, n);
    }
}
