using System.Runtime.CompilerServices;
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

    private readonly CancellationTokenSource _shutdown = new();

    /// <summary>
    /// The server begins to stop (SIGTERM, Ctrl+C): every run in flight ends now with a 503 "shutting down" (an error
    /// event on a stream) instead of the host waiting out its shutdown timeout for generations — a long prefill could
    /// take minutes — to finish on their own.
    /// </summary>
    public void BeginShutdown() => _shutdown.Cancel();

    /// <summary>The model's description, or 503 while it is loading.</summary>
    public ModelDescription ReadyModel()
    {
        if (Backend.State != BackendState.Ready)
            throw new BackendUnavailableException(Backend.State == BackendState.Loading ? "the model is still loading" : "the model failed to load");
        return Backend.Model;
    }

    /// <summary>
    /// Refuses a prompt that fills the context, checks that an output format can be enforced, and clamps
    /// max_tokens to what the prompt leaves (<see cref="ContextBudget"/>).
    /// </summary>
    public GenerationOptions FitToContext(PreparedPrompt prompt, GenerationOptions options)
    {
        var fitted = ContextBudget.Fit(prompt, options, Backend.Model.ContextLength);
        if (fitted.Format is { } format)
            Backend.ValidateFormat(format);
        return fitted;
    }

    /// <summary>Starts a generation run (after admission) for an endpoint.</summary>
    public async IAsyncEnumerable<RunEvent> Run(PreparedPrompt prompt, GenerationOptions options, IReadOnlyList<string> stops, string toolIdPrefix,
        [EnumeratorCancellation] CancellationToken cancellationToken, bool singleToolCall = false)
    {
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        await using var events = GenerationRun.RunAsync(Backend, prompt, options with { SingleToolCall = singleToolCall }, stops, toolIdPrefix, singleToolCall, Metrics, run.Token)
            .GetAsyncEnumerator(run.Token);
        while (true)
        {
            try
            {
                if (!await events.MoveNextAsync())
                    yield break;
            }
            catch (Exception e) when (e is not BackendUnavailableException && _shutdown.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // Cancelled by the shutdown, or the engine was disposed under the run (kimi serve stops both together).
                throw new BackendUnavailableException("the server is shutting down");
            }

            yield return events.Current;
        }
    }

    /// <summary>
    /// How endpoints receive the state: from their endpoint metadata (routes mapped by <see cref="KimiEndpoints.MapKimi(Microsoft.AspNetCore.Builder.WebApplication, IChatBackend, ServerOptions?)"/>,
    /// so a host application needs no service registration), else from the application's services.
    /// </summary>
    public static ValueTask<ServerState?> BindAsync(HttpContext context) =>
        ValueTask.FromResult(context.GetEndpoint()?.Metadata.GetMetadata<ServerState>()
            ?? (ServerState?)context.RequestServices.GetService(typeof(ServerState)));

    public static long UnixNow() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
