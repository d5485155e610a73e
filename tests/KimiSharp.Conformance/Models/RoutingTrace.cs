using System.Globalization;
using KimiSharp.Conformance.LlamaCpp;

namespace KimiSharp.Conformance.Models;

/// <summary>
/// The first place where our expert choice and llama.cpp's differ, in causal order (earliest token, then lowest
/// layer — everything before it routed identically), with both sides' selection scores there.
/// </summary>
public sealed record RoutingFlip(int Layer, int Token, int LlamaExpert, int OurExpert, float LlamaMargin, float OurMargin,
    double ScoreNoise, double HiddenRelativeDifference)
{
    /// <summary>
    /// llama.cpp's margin between the expert it kept and the one we kept instead; a flip is a near-tie when this
    /// margin is no larger than a few times the rounding noise between our scores and llama.cpp's at that token.
    /// </summary>
    public bool IsNearTie(double noiseFactor = 4) => LlamaMargin <= noiseFactor * ScoreNoise;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"layer {Layer} token {Token}: llama.cpp keeps expert {LlamaExpert}, we keep {OurExpert}; llama.cpp's margin {LlamaMargin:E2}, " +
        $"ours {OurMargin:E2}; max |Δ selection score| {ScoreNoise:E2}; ffn_norm relative difference {HiddenRelativeDifference:E2}");
}

public static class RoutingTrace
{
    /// <summary>Finds the first routing flip, or null when every token chose the same experts in every layer.</summary>
    public static RoutingFlip? FirstFlip(List<CapturedTensor> llama, List<(string Name, float[] Values)> ours, int experts, int used, int tokens)
    {
        var flips = new List<RoutingFlip>();
        foreach (var (name, ourSelection) in ours.Where(o => o.Name.StartsWith("ffn_moe_selection-", StringComparison.Ordinal)))
        {
            int layer = int.Parse(name["ffn_moe_selection-".Length..], CultureInfo.InvariantCulture);
            var theirs = llama.LastOrDefault(t => t.Name == $"ffn_moe_probs_biased-{layer}" && t.Values.Length == experts * tokens)
                ?? llama.Last(t => t.Name == $"ffn_moe_probs-{layer}" && t.Values.Length == experts * tokens);
            var ourTopK = ours.Last(o => o.Name == $"ffn_moe_topk-{layer}").Values;
            var ourNorm = ours.Last(o => o.Name == $"ffn_norm-{layer}").Values;
            var theirNorm = llama.Last(t => t.Name == $"ffn_norm-{layer}" && t.Values.Length == ourNorm.Length).Values;
            int e = ourNorm.Length / tokens;
            for (int token = 0; token < tokens; token++)
            {
                var l = theirs.Values.AsSpan(token * experts, experts);
                var o = ourSelection.AsSpan(token * experts, experts);
                var llamaChosen = TopK(l, used);
                var ourChosen = ourTopK.AsSpan(token * used, used).ToArray().Select(v => (int)v).ToHashSet();
                if (llamaChosen.SetEquals(ourChosen))
                    continue;
                int a = llamaChosen.Except(ourChosen).First(), b = ourChosen.Except(llamaChosen).First();
                double noise = 0;
                for (int x = 0; x < experts; x++)
                    noise = Math.Max(noise, Math.Abs((double)l[x] - o[x]));
                double diff = 0, norm = 0;
                for (int d = 0; d < e; d++)
                {
                    diff = Math.Max(diff, Math.Abs((double)ourNorm[token * e + d] - theirNorm[token * e + d]));
                    norm = Math.Max(norm, Math.Abs((double)theirNorm[token * e + d]));
                }
                flips.Add(new RoutingFlip(layer, token, a, b, l[a] - l[b], o[b] - o[a], noise, diff / norm));
                break;
            }
        }
        return flips.OrderBy(f => f.Token).ThenBy(f => f.Layer).FirstOrDefault();
    }

    private static HashSet<int> TopK(ReadOnlySpan<float> scores, int k)
    {
        var order = Enumerable.Range(0, scores.Length).ToArray();
        var copy = scores.ToArray();
        Array.Sort(order, (x, y) => copy[y] != copy[x] ? copy[y].CompareTo(copy[x]) : x.CompareTo(y));
        return order.Take(k).ToHashSet();
    }
}
