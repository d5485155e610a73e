using System.Net;
using KimiSharp.Server.Backend;
using KimiSharp.Server.WebUi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KimiSharp.Server.Hosting;

/// <summary>
/// The HTTP server: Kestrel with the OpenAI, Anthropic, Ollama and utility routes over one <see cref="IChatBackend"/>
/// (the routes of <see cref="KimiEndpoints"/>, with the API layer over every path), and the chat page at /.
/// <code>
/// await using var server = await KimiServer.StartAsync(backend, new ServerOptions { Port = 0 });
/// // server.BaseAddress → http://127.0.0.1:PORT
/// </code>
/// </summary>
public sealed class KimiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private KimiServer(WebApplication app, ServerState state, Uri baseAddress)
    {
        _app = app;
        State = state;
        BaseAddress = baseAddress;
    }

    /// <summary>http://host:port of the bound listener (the real port when Port was 0).</summary>
    public Uri BaseAddress { get; }

    public ServerState State { get; }

    public static WebApplication Build(IChatBackend backend, ServerOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        if (options.Verbose)
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information);
        else
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning)
                .AddFilter("Microsoft.AspNetCore", LogLevel.Error);

        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes + 1;
            var address = options.Host is "localhost" ? IPAddress.Loopback : IPAddress.Parse(options.Host);
            kestrel.Listen(address, options.Port);
        });

        var state = new ServerState(backend, options);
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(new ApiKeyCheck(options.ApiKey));
        builder.Services.AddSingleton(state.Metrics);

        var app = builder.Build();
        app.Lifetime.ApplicationStopping.Register(state.BeginShutdown);
        app.UseMiddleware<ApiMiddleware>();
        app.UseRouting();
        app.MapKimiRoutes(state);
        if (options.WebUi)
            app.MapWebUi();
        return app;
    }

    /// <summary>Builds and starts the server; returns once it is listening.</summary>
    public static async Task<KimiServer> StartAsync(IChatBackend backend, ServerOptions options, CancellationToken cancellationToken = default)
    {
        var app = Build(backend, options);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        address = address.Replace("[::]", "127.0.0.1").Replace("0.0.0.0", "127.0.0.1");
        return new KimiServer(app, app.Services.GetRequiredService<ServerState>(), new Uri(address));
    }

    /// <summary>Fires when the host begins to stop (SIGTERM / Ctrl+C reach the host's console lifetime).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    /// <summary>Runs until <paramref name="cancellationToken"/> fires (Ctrl+C in <c>kimi serve</c>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
