namespace KimiSharp.Compute;

/// <summary>
/// Numerically stable softmax as ggml_soft_max computes it: x·scale, subtract the max, exponentials by ggml's vector
/// exp a register at a time summed in double (<see cref="GgmlFloatOrder.SoftmaxExp"/>), then × (float)(1/sum).
/// </summary>
public static unsafe class Softmax
{
    /// <summary>In place: x ← softmax(x·scale).</summary>
    public static void Apply(Span<float> x, float scale = 1.0f)
    {
        if (x.IsEmpty)
            return;
        float max = float.NegativeInfinity;
        for (int i = 0; i < x.Length; i++)
        {
            x[i] *= scale;
            if (x[i] > max)
                max = x[i];
        }
        fixed (float* p = x)
        {
            float inv = (float)(1.0 / GgmlFloatOrder.SoftmaxExp(p, p, max, x.Length));
            for (int i = 0; i < x.Length; i++)
                p[i] *= inv;
        }
    }
}
