namespace KimiSharp.Engine;

/// <summary>The sequences one engine step runs and how many tokens each, within the step's token budget. Engine loop only.</summary>
internal sealed class StepPlan(int maxSequences)
{
    private readonly Sequence[] _sequences = new Sequence[maxSequences];
    private readonly BatchSegment[] _segments = new BatchSegment[maxSequences];
    private int[] _tokens = new int[64];

    public int Count { get; private set; }

    /// <summary>Tokens the step may still take.</summary>
    public int Budget { get; private set; }

    /// <summary>One segment per planned sequence (the first <see cref="Count"/>), in plan order.</summary>
    public BatchSegment[] Segments => _segments;

    public Sequence Sequence(int i) => _sequences[i];

    public void Clear(int budget)
    {
        Array.Clear(_sequences, 0, Count);
        Array.Clear(_segments, 0, Count);
        Count = 0;
        Budget = budget;
    }

    public bool Contains(Sequence s) => Array.IndexOf(_sequences, s, 0, Count) >= 0;

    /// <summary>Plans <paramref name="n"/> tokens of <paramref name="s"/> from the end of its cache (blocks already reserved).</summary>
    public void Add(Sequence s, int n)
    {
        _sequences[Count] = s;
        _segments[Count] = new BatchSegment(s.Kv!, s.Kv!.Length, n);
        Count++;
        Budget -= n;
    }

    /// <summary>Takes a sequence out of the plan (it was paused), returning its tokens to the budget.</summary>
    public void Remove(Sequence s)
    {
        int i = Array.IndexOf(_sequences, s, 0, Count);
        if (i < 0) return;
        Budget += _segments[i].TokenCount;
        Array.Copy(_sequences, i + 1, _sequences, i, Count - i - 1);
        Array.Copy(_segments, i + 1, _segments, i, Count - i - 1);
        Count--;
        _sequences[Count] = null!;
        _segments[Count] = default;
    }

    /// <summary>The step's tokens: each planned sequence's next tokens, in plan order.</summary>
    public ReadOnlySpan<int> Tokens()
    {
        int total = 0;
        for (int i = 0; i < Count; i++) total += _segments[i].TokenCount;
        if (_tokens.Length < total) _tokens = new int[Math.Max(total, _tokens.Length * 2)];
        int at = 0;
        for (int i = 0; i < Count; i++)
        {
            var seq = _sequences[i].Tokens;
            var seg = _segments[i];
            for (int k = 0; k < seg.TokenCount; k++) _tokens[at++] = seq[seg.Start + k];
        }
        return _tokens.AsSpan(0, total);
    }
}
