using System.Diagnostics;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Bench;

/// <summary>
/// `stages MODEL TOKENS`: a coarse profile of one prompt's forward pass (2 threads) — the time between consecutive
/// intermediate tensors the forward pass reports to its observer (e.g. "ffn_moe_weights_scaled→ffn_gate" is the routed
/// experts), summed over layers, mean of 5 runs after a warm-up.
/// </summary>
internal static class StageProbe
{
    public static void Run(string path, int tokens)
    {
        using var model = DeepSeek2Model.Load(path, new ModelOptions(2));
        var rng = new Random(1);
        var prompt = Enumerable.Range(0, tokens).Select(_ => rng.Next(0, 550)).ToArray();
        var logits = new float[tokens * model.VocabSize];
        var totals = new Dictionary<string, double>();
        long last = 0;
        string lastName = "start";
        model.Forward.Observer = (name, _) =>
        {
            long now = Stopwatch.GetTimestamp();
            string key = lastName.Split('-')[0] + "→" + name.Split('-')[0];
            totals[key] = totals.GetValueOrDefault(key) + Stopwatch.GetElapsedTime(last, now).TotalMilliseconds;
            last = Stopwatch.GetTimestamp();
            lastName = name;
        };
        for (int rep = 0; rep < 6; rep++)
        {
            if (rep == 1) totals.Clear();
            using var s = model.CreateSession(tokens);
            lastName = "start";
            last = Stopwatch.GetTimestamp();
            long t0 = Stopwatch.GetTimestamp();
            s.ForwardAll(prompt, logits);
            if (rep > 0) totals["TOTAL"] = totals.GetValueOrDefault("TOTAL") + Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        foreach (var kv in totals.OrderByDescending(k => k.Value).Take(25))
            Console.WriteLine($"{kv.Key,-45} {kv.Value / 5,8:F2} ms");
    }
}
