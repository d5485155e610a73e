using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>AVX-512 dot products of float rows (F32·F32, BF16·BF16, F16·F16) with four independent accumulators.</summary>
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> BF16(ushort* p) => Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Avx.LoadVector256(p)), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float BF16(ushort* x, ushort* y, int n)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 64 <= n; i += 64)
        {
            a0 = Avx512F.FusedMultiplyAdd(BF16(x + i), BF16(y + i), a0);
            a1 = Avx512F.FusedMultiplyAdd(BF16(x + i + 16), BF16(y + i + 16), a1);
            a2 = Avx512F.FusedMultiplyAdd(BF16(x + i + 32), BF16(y + i + 32), a2);
            a3 = Avx512F.FusedMultiplyAdd(BF16(x + i + 48), BF16(y + i + 48), a3);
        }
        for (; i + 16 <= n; i += 16)
            a0 = Avx512F.FusedMultiplyAdd(BF16(x + i), BF16(y + i), a0);
        float sum = SimdOps.HorizontalSum((a0 + a1) + (a2 + a3));
        for (; i < n; i++) sum += Fp16.BF16ToFloat(x[i]) * Fp16.BF16ToFloat(y[i]);
        return sum;
    }

    /// <summary>
    /// 16 halves → floats without F16C (not exposed by .NET): normal/Inf/NaN via exponent rebias ((2w &gt;&gt; 4) + 0x70000000)·2^−112,
    /// subnormals via the magic-number subtraction ((2w &gt;&gt; 17) | 0x3F000000) − 0.5, sign or'ed back.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> F16(ushort* p)
    {
        var w = Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Avx.LoadVector256(p)), 16);
        var sign = w & Vector512.Create(0x80000000u);
        var twoW = w + w;
        var normalized = (Avx512F.ShiftRightLogical(twoW, 4) + Vector512.Create(0x70000000u)).AsSingle() * Vector512.Create(0x07800000u).AsSingle();
        var denormalized = (Avx512F.ShiftRightLogical(twoW, 17) | Vector512.Create(0x3F000000u)).AsSingle() - Vector512.Create(0.5f);
        var isDenormal = Vector512.LessThan(twoW, Vector512.Create(1u << 27)).AsSingle();
        return (Vector512.ConditionalSelect(isDenormal, denormalized, normalized).AsUInt32() | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16(ushort* x, ushort* y, int n)
    {
        Vector512<float> a0 = default, a1 = default;
        int i = 0;
        for (; i + 32 <= n; i += 32)
        {
            a0 = Avx512F.FusedMultiplyAdd(F16(x + i), F16(y + i), a0);
            a1 = Avx512F.FusedMultiplyAdd(F16(x + i + 16), F16(y + i + 16), a1);
        }
        for (; i + 16 <= n; i += 16)
            a0 = Avx512F.FusedMultiplyAdd(F16(x + i), F16(y + i), a0);
        float sum = SimdOps.HorizontalSum(a0 + a1);
        for (; i < n; i++) sum += Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
        return sum;
    }
}
