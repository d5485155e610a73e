using System.Numerics;
using System.Runtime.InteropServices;

namespace KimiSharp.Compute;

/// <summary>RMSNorm as ggml computes it: y = x / sqrt(mean(x²) + eps) ⊙ w, the sum of squares in double.</summary>
public static class RmsNorm
{
    /// <summary>Normalises each of the <c>x.Length / weight.Length</c> rows of x into y (may alias x).</summary>
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        int n = weight.Length;
        if (n == 0 || x.Length % n != 0 || y.Length < x.Length)
            throw new ArgumentException($"RmsNorm: {x.Length} inputs are not whole rows of {n} (output {y.Length})");
        for (int row = 0; row < x.Length; row += n)
            ApplyRow(x.Slice(row, n), weight, eps, y.Slice(row, n));
    }

    private static void ApplyRow(ReadOnlySpan<float> x, ReadOnlySpan<float> w, float eps, Span<float> y)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
            sum += (double)(x[i] * x[i]);
        float mean = (float)(sum / x.Length);
        float scale = 1.0f / MathF.Sqrt(mean + eps);
        int k = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var xs = MemoryMarshal.Cast<float, Vector<float>>(x);
            var ws = MemoryMarshal.Cast<float, Vector<float>>(w);
            var ys = MemoryMarshal.Cast<float, Vector<float>>(y);
            for (int v = 0; v < xs.Length; v++)
                ys[v] = xs[v] * scale * ws[v];
            k = xs.Length * Vector<float>.Count;
        }
        for (; k < x.Length; k++)
            y[k] = x[k] * scale * w[k];
    }
}
