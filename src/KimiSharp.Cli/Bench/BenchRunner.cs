using System.Diagnostics;
using KimiSharp.Engine;

namespace KimiSharp.Cli.Bench;

/// <summary>
/// Runs the tests of <see cref="BenchSettings"/> the way llama-bench does: random token ids, the context of each
/// depth filled once and trimmed back to it before every run, one warm-up run per test (not counted), then
/// <see cref="BenchSettings.Repetitions"/> timed runs.
/// </summary>
internal static class BenchRunner
{
    /// <summary>Tokens per forward call while filling the context to the test's depth.</summary>
    private const int FillChunk = 512;

    /// <summary>
    /// Whether -np N sequences run in one batched forward per step. Not yet: this build has no batched step, so the
    /// N sequences take turns (one forward per sequence per step), which is what the engine does today.
    /// </summary>
    public const bool SequencesStepTogether = false;

    public static IReadOnlyList<BenchResult> Measure(ILanguageModel model, BenchSettings settings, Action<BenchResult>? onResult = null)
    {
        var results = new List<BenchResult>();
        var rng = new Random(42);
        var logits = new float[model.VocabSize];
        foreach (var group in settings.Tests().GroupBy(t => (t.D, t.Np)))
        {
            int depth = group.Key.D, sequences = group.Key.Np;
            int capacity = depth + group.Max(t => Math.Max(t.P, t.N));
            var sessions = new IModelSession[sequences];
            try
            {
                for (int s = 0; s < sequences; s++)
                {
                    sessions[s] = model.CreateSession(capacity);
                    Fill(sessions[s], depth, rng, logits);
                }
                foreach (var test in group)
                {
                    Func<double> run = test.IsPrompt
                        ? () => Prompt(sessions[0], test, rng, logits)
                        : () => Generate(sessions, test, rng, logits);
                    run(); // warm-up: page in the weights, JIT the kernels
                    var seconds = new double[settings.Repetitions];
                    for (int r = 0; r < seconds.Length; r++)
                        seconds[r] = run();
                    var result = new BenchResult(test, seconds.Select(s => test.Tokens / Math.Max(s, 1e-9)).ToArray());
                    results.Add(result);
                    onResult?.Invoke(result);
                }
            }
            finally
            {
                foreach (var session in sessions)
                    session?.Dispose();
            }
        }
        return results;
    }

    private static void Fill(IModelSession session, int depth, Random rng, float[] logits)
    {
        for (int start = 0; start < depth; start += FillChunk)
            session.Forward(RandomTokens(rng, Math.Min(FillChunk, depth - start), logits.Length), logits);
    }

    /// <summary>One batch of P tokens at positions D.. of sequence 0; seconds.</summary>
    private static double Prompt(IModelSession session, BenchTest test, Random rng, float[] logits)
    {
        session.Truncate(test.D);
        var tokens = RandomTokens(rng, test.P, logits.Length);
        var watch = Stopwatch.StartNew();
        session.Forward(tokens, logits);
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>N single-token steps of every sequence from depth D (the sequences take turns within a step); seconds.</summary>
    private static double Generate(IModelSession[] sessions, BenchTest test, Random rng, float[] logits)
    {
        foreach (var session in sessions)
            session.Truncate(test.D);
        var tokens = RandomTokens(rng, test.N * sessions.Length, logits.Length);
        var watch = Stopwatch.StartNew();
        for (int k = 0, i = 0; k < test.N; k++)
            foreach (var session in sessions)
                session.Forward(tokens.AsSpan(i++, 1), logits);
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>Random ids in 1..vocab−1, as llama-bench draws them.</summary>
    private static int[] RandomTokens(Random rng, int count, int vocab)
    {
        var tokens = new int[count];
        for (int i = 0; i < count; i++)
            tokens[i] = rng.Next(1, vocab);
        return tokens;
    }
}

/// <summary>A test's tokens/s, one value per repetition.</summary>
internal sealed record BenchResult(BenchTest Test, double[] Rates)
{
    public double Median => Statistics.Median(Rates);
}

internal static class Statistics
{
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return 0;
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
