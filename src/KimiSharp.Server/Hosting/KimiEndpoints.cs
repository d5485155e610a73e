using KimiSharp.Server.Anthropic;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Ollama;
using KimiSharp.Server.OpenAi;
using KimiSharp.Server.OpenAi.Responses;
using KimiSharp.Server.Utility;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KimiSharp.Server.Hosting;

/// <summary>
/// Kimi's HTTP APIs inside your own ASP.NET Core application, next to your own endpoints:
/// <code>
/// var app = WebApplication.CreateBuilder(args).Build();
/// using var kimi = new KimiChatClient(modelPath);   // null: the demo model
/// app.MapKimi(kimi);                                // /v1/chat/completions, /v1/responses, /v1/messages, /v1/models, /api/chat (Ollama), /health …
/// app.Run();
/// </code>
/// The routes run on the client's engine, so HTTP requests and in-process <see cref="KimiChatClient"/> calls are
/// batched together. The API layer (API key, error JSON in each API's shape, request metrics) covers Kimi's paths only;
/// the rest of the application is left as it is. <c>kimi serve</c> is this over a Kestrel listener of its own.
/// </summary>
public static class KimiEndpoints
{
    /// <summary>Path prefixes of Kimi's routes: the API layer handles requests under them.</summary>
    public static IReadOnlyList<string> PathPrefixes { get; } = ["/v1", "/api", "/health", "/metrics", "/tokenize", "/detokenize"];

    /// <summary>Maps the HTTP APIs over <paramref name="client"/>'s model and engine (the client keeps owning them).</summary>
    public static ServerState MapKimi(this WebApplication app, KimiChatClient client, ServerOptions? options = null, EnforcementOptions? enforcement = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var model = client.Model;
        enforcement ??= new EnforcementOptions(ReasoningEnd: KimiSharp.Grammar.ChatConstraints.ReasoningEndOf(model.ChatTemplate));
        var backend = new EngineChatBackend(client.Engine, model.Tokenizer, model.Formatter, client.Metadata.DefaultModelId ?? model.Name,
            ownsEngine: false, enforcement: enforcement);
        return app.MapKimi(backend, options);
    }

    /// <summary>Maps the HTTP APIs over any backend (a scripted one in tests, a loading one while a file opens).</summary>
    public static ServerState MapKimi(this WebApplication app, IChatBackend backend, ServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(backend);
        var state = new ServerState(backend, options ?? new ServerOptions());
        app.Lifetime.ApplicationStopping.Register(state.BeginShutdown); // replies in flight end at once when the app stops
        var keyCheck = new ApiKeyCheck(state.Options.ApiKey);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<ApiMiddleware>();
        app.UseWhen(context => IsKimiPath(context.Request.Path),
            branch => branch.UseMiddleware<ApiMiddleware>(keyCheck, state.Metrics, logger));
        app.MapKimiRoutes(state);
        return state;
    }

    /// <summary>The routes alone, each carrying <paramref name="state"/> as endpoint metadata (see <see cref="ServerState.BindAsync"/>).</summary>
    internal static void MapKimiRoutes(this IEndpointRouteBuilder routes, ServerState state)
    {
        var group = routes.MapGroup("").WithMetadata(state);
        group.MapUtility();
        group.MapOpenAi();
        group.MapResponses();
        group.MapAnthropic();
        group.MapOllama();
    }

    private static bool IsKimiPath(PathString path)
    {
        foreach (var prefix in PathPrefixes)
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }
}
