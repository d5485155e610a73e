namespace KimiSharp.Engine;

/// <summary>Checks of a batched step's arguments, shared by every <see cref="IBatchRunner"/>.</summary>
public static class BatchSegments
{
    /// <summary>Logits rows a step writes.</summary>
    public static int OutputRows(ReadOnlySpan<BatchSegment> segments)
    {
        int rows = 0;
        foreach (var s in segments)
            rows += s.Outputs switch { SegmentOutputs.Last => 1, SegmentOutputs.All => s.TokenCount, _ => 0 };
        return rows;
    }

    /// <summary>
    /// Throws unless the tokens are valid ids split exactly into the segments, each segment appends to the end of its own
    /// cache (distinct caches, blocks already reserved, the pool's blocks sized for this model) and the logits hold the rows.
    /// </summary>
    public static void Validate(ReadOnlySpan<int> tokens, ReadOnlySpan<BatchSegment> segments, ReadOnlySpan<float> logits,
        int maxTokens, int vocab, long kvBytesPerToken)
    {
        if (tokens.IsEmpty) throw new ArgumentException("no tokens to run", nameof(tokens));
        if (tokens.Length > maxTokens) throw new ArgumentException($"{tokens.Length} tokens exceed the step's {maxTokens}", nameof(tokens));
        foreach (int id in tokens)
            if ((uint)id >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(tokens), id, $"token id out of 0..{vocab - 1}");
        int total = 0;
        for (int i = 0; i < segments.Length; i++)
        {
            var s = segments[i];
            ArgumentNullException.ThrowIfNull(s.Kv, nameof(segments));
            if (s.TokenCount < 1) throw new ArgumentException($"segment {i} has no tokens", nameof(segments));
            if (s.Start != s.Kv.Length) throw new ArgumentException($"segment {i} starts at {s.Start} but its cache holds {s.Kv.Length} tokens", nameof(segments));
            if (s.Start + s.TokenCount > s.Kv.Capacity) throw new ArgumentException($"segment {i}: cache blocks for {s.Start + s.TokenCount} tokens are not reserved", nameof(segments));
            if (s.Kv.Pool.BytesPerToken != kvBytesPerToken) throw new ArgumentException($"segment {i}: the pool's blocks hold {s.Kv.Pool.BytesPerToken} bytes per token, the model needs {kvBytesPerToken}", nameof(segments));
            for (int j = 0; j < i; j++)
                if (ReferenceEquals(segments[j].Kv, s.Kv)) throw new ArgumentException($"segments {j} and {i} share one cache", nameof(segments));
            total += s.TokenCount;
        }
        if (total != tokens.Length) throw new ArgumentException($"segments hold {total} tokens, the step {tokens.Length}", nameof(segments));
        long rows = OutputRows(segments);
        if (logits.Length != rows * vocab) throw new ArgumentException($"logits must hold {rows} rows × {vocab} = {rows * vocab} values, got {logits.Length}", nameof(logits));
    }
}
