using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;

namespace KimiSharp.Server.Hosting;

/// <summary>What every endpoint shares: the backend, the options, metrics and admission control.</summary>
public sealed class ServerState(IChatBackend backend, ServerOptions options)
{
    public IChatBackend Backend { get; } = backend;
    public ServerOptions Options { get; } = options;
    public ServerMetrics Metrics { get; } = new();
    public GenerationGate Gate { get; } = new(options.MaxQueuedRequests);

    /// <summary>The model's description, or 503 while it is loading.</summary>
    public ModelDescription ReadyModel()
    {
        if (Backend.State != BackendState.Ready)
            throw new BackendUnavailableException(Backend.State == BackendState.Loading ? "the model is still loading" : "the model failed to load");
        return Backend.Model;
    }

    /// <summary>
    /// Checks that the prompt leaves room for at least one generated token and that an output format can be
    /// enforced, and clamps max_tokens to what is left of the context.
    /// </summary>
    public GenerationOptions FitToContext(PreparedPrompt prompt, GenerationOptions options)
    {
        int context = Backend.Model.ContextLength;
        if (prompt.TokenCount >= context)
            throw new ContextOverflowException(prompt.TokenCount, context);
        if (options.Format is { } format)
            Backend.ValidateFormat(format);
        return options with { MaxTokens = Math.Min(options.MaxTokens, context - prompt.TokenCount) };
    }

    /// <summary>Starts a generation run (after admission) for an endpoint.</summary>
    public IAsyncEnumerable<RunEvent> Run(PreparedPrompt prompt, GenerationOptions options, IReadOnlyList<string> stops, string toolIdPrefix, CancellationToken cancellationToken, bool singleToolCall = false) =>
        GenerationRun.RunAsync(Backend, prompt, options with { SingleToolCall = singleToolCall }, stops, toolIdPrefix, singleToolCall, Metrics, cancellationToken);

    public static long UnixNow() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
