using KimiSharp.Engine;

namespace KimiSharp.Tests.Engine;

/// <summary>
/// A fake batched step for scripted models: its "KV cache" holds the token ids themselves (4 bytes a token), so each
/// sequence's history is read back from its own paged cache. A wrong block table, a shared block written through or a
/// prefix attached to the wrong sequence shows up as a wrong history, and so as a wrong next token.
/// </summary>
internal sealed unsafe class TokenKvRunner(int vocab, int maxTokens, Action<IReadOnlyList<int>, Span<float>> logitsFor,
    Action<TokenKvRunner.Step>? onRun = null) : IBatchRunner
{
    public const long BytesPerToken = 4;

    /// <summary>
    /// What one Run call held: each segment's cache, start position, new tokens and whole history after the step; and the
    /// step's cancellation token (a hook that blocks should wait on it, as a real step stops between layers).
    /// </summary>
    public sealed record Step(IReadOnlyList<(KvBlockTable Kv, int Start, int[] Tokens, int[] History)> Segments)
    {
        public CancellationToken Cancellation { get; init; }
    }

    public int MaxTokens => maxTokens;

    public bool Disposed { get; private set; }

    public void Run(ReadOnlySpan<int> tokens, ReadOnlySpan<BatchSegment> segments, Span<float> logits, CancellationToken cancellationToken = default)
    {
        Assert.False(Disposed);
        BatchSegments.Validate(tokens, segments, logits, maxTokens, vocab, BytesPerToken);
        var seen = new List<(KvBlockTable, int, int[], int[])>();
        int offset = 0;
        foreach (var s in segments)
        {
            var history = new int[s.Start + s.TokenCount];
            for (int p = 0; p < s.Start; p++) history[p] = *(int*)Row(s.Kv, p);
            tokens.Slice(offset, s.TokenCount).CopyTo(history.AsSpan(s.Start));
            seen.Add((s.Kv, s.Start, tokens.Slice(offset, s.TokenCount).ToArray(), history));
            offset += s.TokenCount;
        }
        onRun?.Invoke(new Step(seen) { Cancellation = cancellationToken });

        offset = 0;
        int row = 0;
        foreach (var s in segments)
        {
            for (int i = 0; i < s.TokenCount; i++)
                *(int*)Row(s.Kv, s.Start + i) = tokens[offset + i];
            for (int i = 0; i < s.TokenCount; i++)
            {
                bool wanted = s.Outputs == SegmentOutputs.All || (s.Outputs == SegmentOutputs.Last && i == s.TokenCount - 1);
                if (!wanted) continue;
                var history = new int[s.Start + i + 1];
                for (int p = 0; p < history.Length; p++)
                    history[p] = *(int*)Row(s.Kv, p);
                logitsFor(history, logits.Slice(row++ * vocab, vocab));
            }
            offset += s.TokenCount;
        }
        foreach (var s in segments)
            s.Kv.Advance(s.Start + s.TokenCount);
    }

    private static byte* Row(KvBlockTable kv, int position) =>
        (byte*)kv.Addresses[position / kv.BlockTokens] + position % kv.BlockTokens * BytesPerToken;

    public void Dispose() => Disposed = true;
}
