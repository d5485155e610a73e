using KimiSharp.Sampling;

namespace KimiSharp.Grammar;

/// <summary>
/// The machinery every Enforcer constraint shares: the allowed-token mask of the next position is computed on a
/// thread-pool thread from <see cref="BeginMask"/> (while the model's forward pass runs on the engine's workers)
/// and waited for in <see cref="ApplyMask"/>. One <see cref="TokenMask"/> is allocated per sequence; nothing per token.
/// Subclasses say whether the position needs a computed mask and how to compute and apply it.
/// </summary>
public abstract class MaskedConstraint : ITokenConstraint, IThreadPoolWorkItem
{
    private readonly ManualResetEventSlim _done = new(initialState: true);
    private bool _pending;
    private long _position;
    private long _maskPosition = -1;
    private Exception? _error;

    protected MaskedConstraint(GrammarVocabulary vocabulary, MaskCache? cache)
    {
        Vocabulary = vocabulary ?? throw new ArgumentNullException(nameof(vocabulary));
        Mask = new TokenMask(vocabulary.Size);
        Cache = cache;
    }

    public GrammarVocabulary Vocabulary { get; }

    /// <summary>Masks by parse state shared across sequences, or null.</summary>
    protected MaskCache? Cache { get; }

    /// <summary>The matcher's mask into <see cref="Mask"/>, through the cache when there is one.</summary>
    protected void ComputeMaskOf(GrammarMatcher matcher)
    {
        if (Cache is { } cache) cache.ComputeMask(matcher, Vocabulary, Mask.Bits);
        else matcher.ComputeMask(Vocabulary, Mask.Bits);
    }

    /// <summary>The mask being filled for the current position.</summary>
    protected TokenMask Mask { get; }

    /// <summary>Tokens accepted so far.</summary>
    public long Position => _position;

    /// <summary>Whether the current position needs <see cref="ComputeMask"/> (false: <see cref="ApplyFixed"/> is enough).</summary>
    protected abstract bool NeedsComputedMask { get; }

    /// <summary>Fills <see cref="Mask"/> for the current position (runs on a worker thread).</summary>
    protected abstract void ComputeMask();

    /// <summary>Masks logits without a computed mask (free-text positions: a few banned ids).</summary>
    protected abstract void ApplyFixed(Span<float> logits);

    /// <summary>Adds to the computed mask what depends on nothing but the phase (end of generation, markers) just before it is applied.</summary>
    protected virtual void CompleteMask()
    {
    }

    /// <summary>Advances the state past <paramref name="token"/>; throws <see cref="GrammarException"/> if it is not allowed.</summary>
    protected abstract void Advance(int token);

    public void BeginMask()
    {
        if (_pending || _maskPosition == _position || !NeedsComputedMask) return;
        _pending = true;
        _done.Reset();
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        try
        {
            ComputeMask();
        }
        catch (Exception e)
        {
            _error = e;
        }
        finally
        {
            _done.Set();
        }
    }

    public void ApplyMask(Span<float> logits)
    {
        if (_pending)
        {
            _done.Wait();
            _pending = false;
            _maskPosition = _position;
            if (_error is { } e)
            {
                _error = null;
                _maskPosition = -1;
                throw new GrammarException($"computing the allowed tokens failed: {e.Message}");
            }
        }
        if (!NeedsComputedMask)
        {
            ApplyFixed(logits);
            return;
        }
        if (_maskPosition != _position)
        {
            ComputeMask();
            _maskPosition = _position;
        }
        CompleteMask();
        Mask.Apply(logits);
    }

    public void Accept(int token)
    {
        if (_pending)
        {
            // Accept without ApplyMask (not how the engine calls it): let the running computation finish first.
            _done.Wait();
            _pending = false;
        }
        Advance(token);
        _position++;
    }
}
