using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// BF16·BF16 dot in exactly the order of ggml_vec_dot_bf16 in ggml-cpu's AVX-512 build. That build has no
/// AVX512-BF16 (no vdpbf16ps in its disassembly): it takes the plain AVX512F path, two 16-lane accumulators over
/// 32-wide steps (c1: elements 32s + lane, c2: 32s + 16 + lane), its mul+add fused by the compiler into vfmadd231ps.
/// Each accumulator is reduced by _mm512_reduce_add_ps and added to a double (0.0 + c1, then + c2); the n mod 32
/// leftovers are float products (vmulss, not fused) added to the double one at a time.
/// <para>A bfloat16 is the top half of a float, so a 32-bit lane of the row holds two elements: the even one is
/// lane &lt;&lt; 16, the odd one lane &amp; 0xFFFF0000. Our registers keep the accumulators in that even/odd layout
/// (see <see cref="EvenOddReduction"/>).</para>
/// </summary>
internal static unsafe partial class BFloat16Dot
{
    /// <summary>Elements per step of the main loop (two accumulators of 16 lanes).</summary>
    public const int Step = 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx512(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        // lanes 0–7: c1's even (odd) lanes; lanes 8–15: c2's
        Vector512<float> even = default, odd = default;
        var high = Vector512.Create(0xFFFF0000u);
        for (int i = 0; i < np; i += Step)
        {
            var xs = Vector512.Load((uint*)(x + i));
            var ys = Vector512.Load((uint*)(y + i));
            even = Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(xs, 16).AsSingle(), Avx512F.ShiftLeftLogical(ys, 16).AsSingle(), even);
            odd = Avx512F.FusedMultiplyAdd((xs & high).AsSingle(), (ys & high).AsSingle(), odd);
        }
        float c1 = EvenOddReduction.Reduce(even.GetLower(), odd.GetLower());
        float c2 = EvenOddReduction.Reduce(even.GetUpper(), odd.GetUpper());
        return Finish(c1, c2, x, y, np, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Avx2(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        var (even1, odd1, even2, odd2) = Accumulate256(x, y, np);
        return Finish(EvenOddReduction.Reduce(even1, odd1), EvenOddReduction.Reduce(even2, odd2), x, y, np, n);
    }

    /// <summary>
    /// The 32-wide steps below np on 256-bit registers, in the even/odd layout: even1/odd1 accumulate elements 0–15 of
    /// each step, even2/odd2 elements 16–31, each lane by FMA in step order. Both builds' orders start from these sums
    /// (the AVX-512 build's c1 and c2 are (even1, odd1) and (even2, odd2); the AVX2 build's c1..c4 are their halves).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Even1, Vector256<float> Odd1, Vector256<float> Even2, Vector256<float> Odd2) Accumulate256(ushort* x, ushort* y, int np)
    {
        Vector256<float> even1 = default, odd1 = default, even2 = default, odd2 = default;
        var high = Vector256.Create(0xFFFF0000u);
        for (int i = 0; i < np; i += Step)
        {
            var x1 = Vector256.Load((uint*)(x + i));
            var x2 = Vector256.Load((uint*)(x + i + 16));
            var y1 = Vector256.Load((uint*)(y + i));
            var y2 = Vector256.Load((uint*)(y + i + 16));
            even1 = Fma.MultiplyAdd(Avx2ShiftLeft16(x1), Avx2ShiftLeft16(y1), even1);
            odd1 = Fma.MultiplyAdd((x1 & high).AsSingle(), (y1 & high).AsSingle(), odd1);
            even2 = Fma.MultiplyAdd(Avx2ShiftLeft16(x2), Avx2ShiftLeft16(y2), even2);
            odd2 = Fma.MultiplyAdd((x2 & high).AsSingle(), (y2 & high).AsSingle(), odd2);
        }
        return (even1, odd1, even2, odd2);
    }

    /// <summary>The same order with scalar floats (32 lane sums in an array), FMA as the AVX-512 build.</summary>
    public static float Scalar(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        var acc = stackalloc float[Step];
        new Span<float>(acc, Step).Clear();
        for (int i = 0; i < np; i += Step)
            for (int k = 0; k < Step; k++)
                acc[k] = MathF.FusedMultiplyAdd(Fp16.BF16ToFloat(x[i + k]), Fp16.BF16ToFloat(y[i + k]), acc[k]);
        return Finish(HalvingSum16(acc), HalvingSum16(acc + 16), x, y, np, n);
    }

    private static float HalvingSum16(float* lanes)
    {
        var s = stackalloc float[16];
        for (int j = 0; j < 16; j++) s[j] = lanes[j];
        for (int width = 8; width >= 1; width /= 2)
            for (int j = 0; j < width; j++)
                s[j] += s[j + width];
        return s[0];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Avx2ShiftLeft16(Vector256<uint> v) => System.Runtime.Intrinsics.X86.Avx2.ShiftLeftLogical(v, 16).AsSingle();

    /// <summary>sumf = 0.0 + c1 + c2 in double, then each leftover float product added in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Finish(float c1, float c2, ushort* x, ushort* y, int from, int n)
    {
        double sum = 0.0;
        sum += c1;
        sum += c2;
        for (int i = from; i < n; i++)
            sum += Fp16.BF16ToFloat(x[i]) * Fp16.BF16ToFloat(y[i]);
        return (float)sum;
    }
}
