using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>AVX-512 dot products of float rows (F32·F32) with four independent accumulators (F16 and BF16: <see cref="HalfDot"/>, <see cref="BFloat16Dot"/>).</summary>
internal static unsafe class FloatDotAvx512
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F32(float* x, float* y, int n)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 64 <= n; i += 64)
        {
            a0 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(x + i), Avx512F.LoadVector512(y + i), a0);
            a1 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(x + i + 16), Avx512F.LoadVector512(y + i + 16), a1);
            a2 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(x + i + 32), Avx512F.LoadVector512(y + i + 32), a2);
            a3 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(x + i + 48), Avx512F.LoadVector512(y + i + 48), a3);
        }
        for (; i + 16 <= n; i += 16)
            a0 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(x + i), Avx512F.LoadVector512(y + i), a0);
        float sum = SimdOps.HorizontalSum((a0 + a1) + (a2 + a3));
        for (; i < n; i++) sum += x[i] * y[i];
        return sum;
    }
}
