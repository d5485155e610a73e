using KimiSharp.Sampling;

namespace KimiSharp.Tests.Sampling;

/// <summary>
/// Textbook reference for the filtered softmax, in doubles with a full sort: temperature, then top-k,
/// top-p over the renormalised top-k set, then min-p relative to the best token.
/// </summary>
internal static class ReferenceSampling
{
    public static double[] Distribution(float[] logits, SamplingParams p)
    {
        int n = logits.Length;
        double max = logits.Max();
        var probs = logits.Select(l => Math.Exp((l - max) / p.Temperature)).ToArray();
        var order = Enumerable.Range(0, n).OrderByDescending(i => probs[i]).ThenBy(i => i).ToList();
        if (p.TopK > 0 && p.TopK < n) order = order.Take(p.TopK).ToList();
        if (p.TopP < 1f)
        {
            double mass = p.TopK > 0 && p.TopK < n ? order.Sum(i => probs[i]) : probs.Sum();
            double cumulative = 0;
            int keep = order.Count;
            for (int j = 0; j < order.Count; j++)
            {
                cumulative += probs[order[j]];
                if (cumulative >= p.TopP * mass) { keep = j + 1; break; }
            }
            order = order.Take(keep).ToList();
        }
        if (p.MinP > 0f)
        {
            double top = probs[order[0]];
            order = order.Where(i => probs[i] >= p.MinP * top).ToList();
        }
        var result = new double[n];
        double sum = order.Sum(i => probs[i]);
        foreach (int i in order) result[i] = probs[i] / sum;
        return result;
    }
}
