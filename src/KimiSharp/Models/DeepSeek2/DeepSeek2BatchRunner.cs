using KimiSharp.Engine;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>Batched steps over several sequences' paged caches (the engine's model step); owns the step scratch.</summary>
internal sealed class DeepSeek2BatchRunner : IBatchRunner
{
    private readonly DeepSeek2Model _model;
    private readonly ForwardBuffers _buffers;
    private bool _disposed;

    public DeepSeek2BatchRunner(DeepSeek2Model model, int maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        _model = model;
        _buffers = new ForwardBuffers(model.Config, maxTokens, model.Workers);
    }

    public int MaxTokens => _buffers.Capacity;

    /// <summary>Bytes of step scratch held.</summary>
    public long ScratchBytes => _buffers.Bytes;

    public void Run(ReadOnlySpan<int> tokens, ReadOnlySpan<BatchSegment> segments, Span<float> logits, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        BatchSegments.Validate(tokens, segments, logits, MaxTokens, _model.VocabSize, _model.KvCacheBytesPerToken);
        _model.Forward.Run(tokens, segments, _buffers, logits, cancellationToken);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _buffers.Dispose();
    }
}
