using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// BF16 mat-vec on AVX-512: four weight rows per pass against one activation row. Each row keeps exactly
/// <see cref="BFloat16Dot.Avx512"/>'s operations (= ggml_vec_dot_bf16: two 16-lane FMA accumulators over 32-wide
/// steps, held as even/odd lanes, reduced and finished in double), so every output is bit-identical. One row's dot is
/// bound by the latency of its two FMA chains; four rows give eight independent chains, and the activation step is
/// loaded and widened once for all four.
/// </summary>
internal static unsafe class FloatRowsBFloat16
{
    /// <summary>Rows per pass.</summary>
    public const int Rows = 4;

    private const int Step = BFloat16Dot.Step;

    /// <summary>dst[r] = <see cref="BFloat16Dot.Avx512"/>(row r, a, n) for r &lt; rows (needs AVX-512F).</summary>
    public static void Dot(ushort* w, long rowBytes, ushort* a, int n, float* dst, int rows)
    {
        int np = n & ~(Step - 1);
        if (np == 0 || rows < 2)
        {
            for (int r = 0; r < rows; r++)
                dst[r] = BFloat16Dot.Avx512((ushort*)((byte*)w + r * rowBytes), a, n);
            return;
        }
        var sums = stackalloc float[2 * Rows];
        for (int r = 0; r < rows; r += Rows)
        {
            int count = Math.Min(Rows, rows - r);
            // a short last group repeats its last row (its results are not stored)
            ushort* w0 = (ushort*)((byte*)w + r * rowBytes);
            ushort* w1 = count > 1 ? (ushort*)((byte*)w0 + rowBytes) : w0;
            ushort* w2 = count > 2 ? (ushort*)((byte*)w1 + rowBytes) : w1;
            ushort* w3 = count > 3 ? (ushort*)((byte*)w2 + rowBytes) : w2;
            Four(w0, w1, w2, w3, a, np, sums);
            for (int k = 0; k < count; k++)
                dst[r + k] = BFloat16Dot.Finish(sums[2 * k], sums[2 * k + 1], (ushort*)((byte*)w0 + k * rowBytes), a, np, n);
        }
    }

    /// <summary>The 32-wide part of four rows' dots: each row's two reduced accumulators (ggml's c1, c2) into sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Four(ushort* w0, ushort* w1, ushort* w2, ushort* w3, ushort* a, int np, float* sums)
    {
        var high = Vector512.Create(0xFFFF0000u);
        Vector512<float> even0 = default, odd0 = default, even1 = default, odd1 = default;
        Vector512<float> even2 = default, odd2 = default, even3 = default, odd3 = default;
        for (int i = 0; i < np; i += Step)
        {
            var ys = Vector512.Load((uint*)(a + i));
            var aEven = Avx512F.ShiftLeftLogical(ys, 16).AsSingle();
            var aOdd = (ys & high).AsSingle();
            var xs = Vector512.Load((uint*)(w0 + i));
            even0 = Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(xs, 16).AsSingle(), aEven, even0);
            odd0 = Avx512F.FusedMultiplyAdd((xs & high).AsSingle(), aOdd, odd0);
            xs = Vector512.Load((uint*)(w1 + i));
            even1 = Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(xs, 16).AsSingle(), aEven, even1);
            odd1 = Avx512F.FusedMultiplyAdd((xs & high).AsSingle(), aOdd, odd1);
            xs = Vector512.Load((uint*)(w2 + i));
            even2 = Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(xs, 16).AsSingle(), aEven, even2);
            odd2 = Avx512F.FusedMultiplyAdd((xs & high).AsSingle(), aOdd, odd2);
            xs = Vector512.Load((uint*)(w3 + i));
            even3 = Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(xs, 16).AsSingle(), aEven, even3);
            odd3 = Avx512F.FusedMultiplyAdd((xs & high).AsSingle(), aOdd, odd3);
        }
        // lanes 0–7 of even/odd hold c1's even/odd lanes, lanes 8–15 c2's
        sums[0] = EvenOddReduction.Reduce(even0.GetLower(), odd0.GetLower());
        sums[1] = EvenOddReduction.Reduce(even0.GetUpper(), odd0.GetUpper());
        sums[2] = EvenOddReduction.Reduce(even1.GetLower(), odd1.GetLower());
        sums[3] = EvenOddReduction.Reduce(even1.GetUpper(), odd1.GetUpper());
        sums[4] = EvenOddReduction.Reduce(even2.GetLower(), odd2.GetLower());
        sums[5] = EvenOddReduction.Reduce(even2.GetUpper(), odd2.GetUpper());
        sums[6] = EvenOddReduction.Reduce(even3.GetLower(), odd3.GetLower());
        sums[7] = EvenOddReduction.Reduce(even3.GetUpper(), odd3.GetUpper());
    }
}
