using System.Numerics;
using System.Runtime.CompilerServices;

namespace KimiSharp.Compute;

/// <summary>Small SIMD helpers over float pointers used by attention.</summary>
public static unsafe class VectorMath
{
    /// <summary>Σ a[i]·b[i] in float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                acc += Unsafe.ReadUnaligned<Vector<float>>(a + i) * Unsafe.ReadUnaligned<Vector<float>>(b + i);
            sum = Vector.Sum(acc);
        }
        for (; i < n; i++)
            sum += a[i] * b[i];
        return sum;
    }

    /// <summary>y[i] += alpha·x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddScaled(float* y, float* x, float alpha, int n)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var va = new Vector<float>(alpha);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                Unsafe.WriteUnaligned(y + i, Unsafe.ReadUnaligned<Vector<float>>(y + i) + va * Unsafe.ReadUnaligned<Vector<float>>(x + i));
        }
        for (; i < n; i++)
            y[i] += alpha * x[i];
    }
}
