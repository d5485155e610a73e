namespace KimiSharp.Compute;

/// <summary>Numerically stable softmax (subtract the max, sum of exponentials in double like ggml).</summary>
public static class Softmax
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
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float e = x[i] == float.NegativeInfinity ? 0f : MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < x.Length; i++)
            x[i] *= inv;
    }
}
