namespace KimiSharp.Engine;

/// <summary>log softmax(logits)[i] = l_i − max − log Σ_j exp(l_j − max), with the top-N alternatives.</summary>
internal static class LogprobCalculator
{
    public static TokenLogprob Compute(ReadOnlySpan<float> logits, int chosen, int topN)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits) if (l > max) max = l;
        double sum = 0;
        foreach (float l in logits) if (!float.IsNaN(l)) sum += Math.Exp(l - max);
        float logZ = max + (float)Math.Log(sum);

        var top = new List<TopLogprob>(topN);
        if (topN > 0)
        {
            // Insertion into a small sorted list: topN is at most a few dozen.
            for (int i = 0; i < logits.Length; i++)
            {
                float l = logits[i];
                if (float.IsNaN(l)) continue;
                if (top.Count == topN && l <= top[^1].Logprob) continue;
                int at = top.Count;
                while (at > 0 && top[at - 1].Logprob < l) at--;
                top.Insert(at, new TopLogprob(i, l));
                if (top.Count > topN) top.RemoveAt(top.Count - 1);
            }
            for (int i = 0; i < top.Count; i++) top[i] = top[i] with { Logprob = top[i].Logprob - logZ };
        }
        return new TokenLogprob(chosen, logits[chosen] - logZ, top);
    }
}
