using System.Diagnostics;
using KimiSharp.Engine;

namespace KimiSharp.Cli.Bench;

/// <summary>
/// Runs the tests of <see cref="BenchSettings"/> the way llama-bench does: random token ids, the context of each
/// depth filled once and trimmed back to it before every run, one warm-up run per test (not counted), then
/// <see cref="BenchSettings.Repetitions"/> timed runs. pp and single-sequence tg run on a model session; tg with
/// -np N &gt; 1 runs the N sequences together, one batched forward per step (<see cref="IBatchRunner"/>, as the
/// engine's continuous batching does).
/// </summary>
internal static class BenchRunner
{
    /// <summary>Tokens per forward call while filling the context to the test's depth.</summary>
    private const int FillChunk = 256;

    public static IReadOnlyList<BenchResult> Measure(ILanguageModel model, BenchSettings settings, Action<BenchResult>? onResult = null)
    {
        var results = new List<BenchResult>();
        var rng = new Random(42);
        foreach (var group in settings.Tests().GroupBy(t => (t.D, t.Np)))
        {
            var (depth, sequences) = group.Key;
            int longest = group.Max(t => Math.Max(t.P, t.N));
            bool batched = sequences > 1 && group.Any(t => !t.IsPrompt);
            using var single = batched && group.All(t => !t.IsPrompt) ? null : new SingleSequence(model, depth, longest, rng);
            using var together = batched ? new BatchedSequences(model, sequences, depth, longest, rng) : null;
            foreach (var test in group)
            {
                Func<double> run = test.IsPrompt ? () => single!.Prompt(test.P)
                    : sequences == 1 ? () => single!.Generate(test.N)
                    : () => together!.Generate(test.N);
                run(); // warm-up: page in the weights, JIT the kernels
                var seconds = new double[settings.Repetitions];
                for (int r = 0; r < seconds.Length; r++)
                    seconds[r] = run();
                var result = new BenchResult(test, seconds.Select(s => test.Tokens / Math.Max(s, 1e-9)).ToArray());
                results.Add(result);
                onResult?.Invoke(result);
            }
        }
        return results;
    }

    /// <summary>Random ids in 1..vocab−1, as llama-bench draws them.</summary>
    private static int[] RandomTokens(Random rng, int count, int vocab)
    {
        var tokens = new int[count];
        for (int i = 0; i < count; i++)
            tokens[i] = rng.Next(1, vocab);
        return tokens;
    }

    /// <summary>One sequence on a model session, filled to <c>depth</c> tokens of context once.</summary>
    private sealed class SingleSequence : IDisposable
    {
        private readonly IModelSession _session;
        private readonly int _depth;
        private readonly Random _rng;
        private readonly float[] _logits;

        public SingleSequence(ILanguageModel model, int depth, int longest, Random rng)
        {
            (_depth, _rng, _logits) = (depth, rng, new float[model.VocabSize]);
            _session = model.CreateSession(depth + longest);
            for (int start = 0; start < depth; start += FillChunk)
                _session.Forward(RandomTokens(rng, Math.Min(FillChunk, depth - start), _logits.Length), _logits);
        }

        /// <summary>One batch of <paramref name="count"/> tokens at positions depth..; seconds.</summary>
        public double Prompt(int count)
        {
            _session.Truncate(_depth);
            var tokens = RandomTokens(_rng, count, _logits.Length);
            var watch = Stopwatch.StartNew();
            _session.Forward(tokens, _logits);
            return watch.Elapsed.TotalSeconds;
        }

        /// <summary><paramref name="steps"/> single-token steps from depth; seconds.</summary>
        public double Generate(int steps)
        {
            _session.Truncate(_depth);
            var tokens = RandomTokens(_rng, steps, _logits.Length);
            var watch = Stopwatch.StartNew();
            for (int k = 0; k < steps; k++)
                _session.Forward(tokens.AsSpan(k, 1), _logits);
            return watch.Elapsed.TotalSeconds;
        }

        public void Dispose() => _session.Dispose();
    }

    /// <summary>N sequences over one paged KV pool, each filled to <c>depth</c> once, stepping together.</summary>
    private sealed class BatchedSequences : IDisposable
    {
        private readonly KvBlockPool _pool;
        private readonly KvBlockTable[] _tables;
        private readonly IBatchRunner _runner;
        private readonly BatchSegment[] _segments;
        private readonly int _depth, _vocab;
        private readonly Random _rng;
        private readonly float[] _logits;

        public BatchedSequences(ILanguageModel model, int sequences, int depth, int longest, Random rng)
        {
            (_depth, _vocab, _rng) = (depth, model.VocabSize, rng);
            int blocksPerSequence = (depth + longest + KvBlockPool.DefaultBlockTokens - 1) / KvBlockPool.DefaultBlockTokens;
            _pool = new KvBlockPool(model.KvBytesPerToken, sequences * blocksPerSequence);
            _tables = new KvBlockTable[sequences];
            _segments = new BatchSegment[sequences];
            _logits = new float[sequences * _vocab];
            _runner = model.CreateBatchRunner(Math.Max(sequences, Math.Min(FillChunk, Math.Max(depth, 1))));
            for (int s = 0; s < sequences; s++)
            {
                _tables[s] = new KvBlockTable(_pool);
                for (int start = 0; start < depth; start += FillChunk)
                {
                    int count = Math.Min(FillChunk, depth - start);
                    Reserve(_tables[s], count);
                    _runner.Run(RandomTokens(rng, count, _vocab), [new BatchSegment(_tables[s], start, count)], _logits.AsSpan(0, _vocab));
                }
            }
        }

        /// <summary><paramref name="steps"/> batched steps of one token per sequence from depth; seconds.</summary>
        public double Generate(int steps)
        {
            foreach (var table in _tables)
                table.Truncate(_depth);
            int n = _tables.Length;
            var tokens = RandomTokens(_rng, steps * n, _vocab);
            var watch = Stopwatch.StartNew();
            for (int k = 0; k < steps; k++)
            {
                for (int s = 0; s < n; s++)
                {
                    Reserve(_tables[s], 1);
                    _segments[s] = new BatchSegment(_tables[s], _depth + k, 1);
                }
                _runner.Run(tokens.AsSpan(k * n, n), _segments, _logits);
            }
            return watch.Elapsed.TotalSeconds;
        }

        private static void Reserve(KvBlockTable table, int tokens)
        {
            if (!table.TryReserve(tokens))
                throw new InvalidOperationException("the benchmark's KV pool ran out of blocks");
        }

        public void Dispose()
        {
            _runner.Dispose();
            foreach (var table in _tables)
                table?.Dispose();
            _pool.Dispose();
        }
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
