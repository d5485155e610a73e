namespace KimiSharp.Server.Backend;

/// <summary>
/// Stands in for a backend that is still loading: the server answers /health with "loading" and every
/// model call with 503 until the load task finishes, then forwards everything to the loaded backend.
/// </summary>
public sealed class LoadingChatBackend(Task<IChatBackend> loading, ModelDescription placeholder) : IChatBackend, IEngineStatsSource
{
    public BackendState State => loading.Status switch
    {
        TaskStatus.RanToCompletion => loading.Result.State,
        TaskStatus.Faulted or TaskStatus.Canceled => BackendState.Failed,
        _ => BackendState.Loading,
    };

    /// <summary>Why loading failed (one line), or null.</summary>
    public string? LoadError => loading.IsFaulted ? loading.Exception?.GetBaseException().Message : null;

    public ModelDescription Model => loading.IsCompletedSuccessfully ? loading.Result.Model : placeholder;

    public int QueueDepth => loading.IsCompletedSuccessfully ? loading.Result.QueueDepth : 0;

    public int InFlight => loading.IsCompletedSuccessfully ? loading.Result.InFlight : 0;

    public KimiSharp.Engine.EngineStats? EngineStats => loading.IsCompletedSuccessfully && loading.Result is IEngineStatsSource source ? source.EngineStats : null;

    public PreparedPrompt PrepareChat(ChatPromptRequest request) => Loaded.PrepareChat(request);

    public PreparedPrompt PrepareText(string prompt) => Loaded.PrepareText(prompt);

    public PreparedPrompt PrepareTokens(IReadOnlyList<int> tokens) => Loaded.PrepareTokens(tokens);

    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial) => Loaded.Tokenize(text, addSpecial, parseSpecial);

    public string Detokenize(IReadOnlyList<int> tokens) => Loaded.Detokenize(tokens);

    public string TokenPiece(int token) => Loaded.TokenPiece(token);

    public void ValidateFormat(OutputFormat format) => Loaded.ValidateFormat(format);

    public IAsyncEnumerable<GenerationUpdate> GenerateAsync(PreparedPrompt prompt, GenerationOptions options, CancellationToken cancellationToken) =>
        Loaded.GenerateAsync(prompt, options, cancellationToken);

    private IChatBackend Loaded => State switch
    {
        BackendState.Ready => loading.Result,
        BackendState.Failed => throw new BackendUnavailableException($"the model failed to load: {LoadError}"),
        _ => throw new BackendUnavailableException("the model is still loading"),
    };
}
