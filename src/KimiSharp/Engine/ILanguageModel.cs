namespace KimiSharp.Engine;

/// <summary>
/// What the engine needs from a model: a vocabulary size, a trained context, and sessions that turn
/// tokens into next-token logits. The DeepSeek2 model implements it; tests may script one.
/// </summary>
public interface ILanguageModel : IDisposable
{
    int VocabSize { get; }

    /// <summary>Context length the model was trained for (GGUF <c>*.context_length</c>).</summary>
    int TrainedContextLength { get; }

    /// <summary>A new sequence with its own KV cache holding at most <paramref name="maxTokens"/> tokens.</summary>
    IModelSession CreateSession(int maxTokens);
}

/// <summary>One sequence's state (its KV cache). Not thread-safe: the engine loop owns it.</summary>
public interface IModelSession : IDisposable
{
    /// <summary>Tokens already in the cache (the position of the next token).</summary>
    int Length { get; }

    int MaxTokens { get; }

    /// <summary>
    /// Appends <paramref name="tokens"/> at positions Length..Length+n-1 and writes the logits of the
    /// last of them into <paramref name="logits"/> (length = VocabSize).
    /// </summary>
    void Forward(ReadOnlySpan<int> tokens, Span<float> logits);

    /// <summary>Drops cached tokens from <paramref name="length"/> on (for prompt-prefix reuse).</summary>
    void Truncate(int length);
}
