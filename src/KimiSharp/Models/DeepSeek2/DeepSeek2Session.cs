using KimiSharp.Engine;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>
/// One sequence on its own: a paged latent KV cache from a private block pool (blocks taken as it grows, up to
/// <see cref="MaxTokens"/>) and the scratch its forward passes use. The same batched forward pass the engine runs,
/// with one segment. Not thread-safe.
/// </summary>
public sealed class DeepSeek2Session : IModelSession
{
    private readonly DeepSeek2Model _model;
    private readonly KvBlockPool _pool;
    private readonly KvBlockTable _table;
    private readonly ForwardBuffers _buffers;
    private readonly BatchSegment[] _segment = new BatchSegment[1];
    private bool _disposed;

    internal DeepSeek2Session(DeepSeek2Model model, int maxTokens)
    {
        _model = model;
        MaxTokens = maxTokens;
        _pool = new KvBlockPool(model.KvCacheBytesPerToken, (maxTokens + KvBlockPool.DefaultBlockTokens - 1) / KvBlockPool.DefaultBlockTokens);
        _table = new KvBlockTable(_pool);
        try
        {
            _buffers = new ForwardBuffers(model.Config, Math.Min(model.Options.MaxBatch, maxTokens), model.Workers);
        }
        catch
        {
            _table.Dispose();
            _pool.Dispose();
            throw;
        }
    }

    public int Length => _table.Length;
    public int MaxTokens { get; }

    /// <summary>Bytes held by this session's KV cache (whole blocks of <see cref="KvBlockPool.DefaultBlockTokens"/> tokens).</summary>
    public long KvCacheBytes => _pool.Allocated * _pool.BlockBytes;

    /// <summary>Bytes of forward-pass scratch held by this session.</summary>
    public long ScratchBytes => _buffers.Bytes;

    /// <summary>Appends the tokens and writes the logits of the last one (logits.Length = vocab).</summary>
    public void Forward(ReadOnlySpan<int> tokens, Span<float> logits)
    {
        if (logits.Length != _model.VocabSize)
            throw new ArgumentException($"logits must hold {_model.VocabSize} values (vocabulary size), got {logits.Length}", nameof(logits));
        Run(tokens, logits, all: false);
    }

    /// <summary>Appends the tokens and writes the logits of every one of them, [tokens × vocab] row-major.</summary>
    public void ForwardAll(ReadOnlySpan<int> tokens, Span<float> logits)
    {
        if (logits.Length != (long)tokens.Length * _model.VocabSize)
            throw new ArgumentException($"logits must hold tokens × vocab = {(long)tokens.Length * _model.VocabSize} values, got {logits.Length}", nameof(logits));
        Run(tokens, logits, all: true);
    }

    private void Run(ReadOnlySpan<int> tokens, Span<float> logits, bool all)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (tokens.IsEmpty)
            throw new ArgumentException("no tokens to run", nameof(tokens));
        if (Length + tokens.Length > MaxTokens)
            throw new InvalidOperationException(
                $"the session holds {Length} of {MaxTokens} tokens; {tokens.Length} more do not fit");
        int vocab = _model.VocabSize;
        foreach (int id in tokens)
            if ((uint)id >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(tokens), id, $"token id out of 0..{vocab - 1}");
        if (!_table.TryReserve(tokens.Length))
            throw new InvalidOperationException($"the session's KV pool cannot hold {Length + tokens.Length} tokens");
        for (int done = 0; done < tokens.Length;)
        {
            int n = Math.Min(_buffers.Capacity, tokens.Length - done);
            bool last = done + n == tokens.Length;
            var outputs = all ? SegmentOutputs.All : last ? SegmentOutputs.Last : SegmentOutputs.None;
            var chunkLogits = all ? logits.Slice(done * vocab, n * vocab) : last ? logits : Span<float>.Empty;
            _segment[0] = new BatchSegment(_table, Length, n, outputs);
            _model.Forward.Run(tokens.Slice(done, n), _segment, _buffers, chunkLogits);
            done += n;
        }
    }

    public void Truncate(int length)
    {
        if (length < 0 || length > Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"must be within 0..{Length}");
        _table.Truncate(length);
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _buffers.Dispose();
        _table.Dispose();
        _pool.Dispose();
    }
}
