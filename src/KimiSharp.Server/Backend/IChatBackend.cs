namespace KimiSharp.Server.Backend;

/// <summary>
/// What the HTTP adapters need from a model: prompt preparation (chat template + tokenizer),
/// tokenization for /tokenize, and a stream of generation updates. Everything below it (engine, model,
/// tokenizer, tool-call parser) knows nothing about HTTP; everything above knows nothing about tensors.
/// </summary>
public interface IChatBackend
{
    /// <summary>Loading while the model file is being opened; generation calls throw until Ready.</summary>
    BackendState State { get; }

    ModelDescription Model { get; }

    /// <summary>Requests waiting for the engine loop.</summary>
    int QueueDepth { get; }

    /// <summary>Requests the engine is generating for right now.</summary>
    int InFlight { get; }

    /// <summary>Renders <paramref name="request"/> through the chat template and tokenizes it.</summary>
    PreparedPrompt PrepareChat(ChatPromptRequest request);

    /// <summary>A raw prompt, tokenized with special-token parsing (what /v1/completions sends).</summary>
    PreparedPrompt PrepareText(string prompt);

    /// <summary>A raw prompt given as token ids; throws <see cref="ArgumentOutOfRangeException"/> for ids outside the vocabulary.</summary>
    PreparedPrompt PrepareTokens(IReadOnlyList<int> tokens);

    int[] Tokenize(string text, bool addSpecial, bool parseSpecial);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for ids outside the vocabulary.</summary>
    string Detokenize(IReadOnlyList<int> tokens);

    /// <summary>The text of one token (marker tokens included).</summary>
    string TokenPiece(int token);

    /// <summary>
    /// Checks that <paramref name="format"/> can be enforced (compiling it), so a bad schema or grammar is a 400
    /// before any response starts. Throws <see cref="Hosting.ApiException"/>. Backends that do not enforce formats accept any.
    /// </summary>
    void ValidateFormat(OutputFormat format)
    {
    }

    /// <summary>
    /// Generates for <paramref name="prompt"/>. Ends with exactly one <see cref="GenerationFinished"/> unless
    /// cancelled; disposing the enumerator or cancelling <paramref name="cancellationToken"/> stops the
    /// sequence at the next engine step. Throws <see cref="QueueFullException"/> when the engine's queue is full.
    /// </summary>
    IAsyncEnumerable<GenerationUpdate> GenerateAsync(PreparedPrompt prompt, GenerationOptions options, CancellationToken cancellationToken);
}

public enum BackendState
{
    Loading,
    Ready,
    Failed,
}

/// <param name="Id">The name clients use in the <c>model</c> field (the --alias or the file name).</param>
/// <param name="ContextLength">Tokens one sequence may hold (prompt plus generated).</param>
public sealed record ModelDescription(string Id, int ContextLength, int VocabSize, long CreatedUnixSeconds, string OwnedBy = "kimisharp")
{
    /// <summary>What the model file says about itself (architecture, size, quantization, metadata), or null when there is no file.</summary>
    public ModelFacts? Facts { get; init; }
}
