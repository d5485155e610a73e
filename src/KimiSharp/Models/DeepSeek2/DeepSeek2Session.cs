using KimiSharp.Engine;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>One sequence: its latent KV cache and the scratch its forward passes use. Not thread-safe.</summary>
public sealed class DeepSeek2Session : IModelSession
{
    private readonly DeepSeek2Model _model;
    private readonly LatentKvCache _cache;
    private readonly ForwardBuffers _buffers;
    private bool _disposed;

    internal DeepSeek2Session(DeepSeek2Model model, int maxTokens)
    {
        _model = model;
        var c = model.Config;
        _cache = new LatentKvCache(c.LayerCount, maxTokens, c.LatentRowLength, model.Options.KvType);
        try
        {
            _buffers = new ForwardBuffers(c, Math.Min(model.Options.MaxBatch, maxTokens), maxTokens, model.Workers,
                decodeCache: model.Options.KvType != KvCacheType.F32);
        }
        catch
        {
            _cache.Dispose();
            throw;
        }
    }

    public int Length { get; private set; }
    public int MaxTokens => _cache.MaxTokens;

    /// <summary>Bytes held by this session's KV cache.</summary>
    public long KvCacheBytes => _cache.Bytes;

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
        for (int done = 0; done < tokens.Length;)
        {
            int n = Math.Min(_buffers.Capacity, tokens.Length - done);
            bool last = done + n == tokens.Length;
            var chunkLogits = all ? logits.Slice(done * vocab, n * vocab) : last ? logits : Span<float>.Empty;
            _model.Forward.Run(tokens.Slice(done, n), Length, _cache, _buffers, chunkLogits);
            Length += n;
            done += n;
        }
    }

    public void Truncate(int length)
    {
        if (length < 0 || length > Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"must be within 0..{Length}");
        Length = length;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _buffers.Dispose();
        _cache.Dispose();
    }
}
