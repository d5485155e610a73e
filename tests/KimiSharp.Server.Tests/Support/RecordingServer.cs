using System.Collections.Concurrent;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace KimiSharp.Server.Tests.Support;

/// <summary>
/// The real server (<see cref="KimiServer.Build"/>) with every request body recorded before its endpoint runs:
/// what an agent CLI actually sends, for assertions and for capturing fixtures (set
/// <c>KIMI_CAPTURE_DIR</c> and each body is also written there as <c>NN-route.json</c>).
/// </summary>
public sealed class RecordingServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    private RecordingServer(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public static async Task<RecordingServer> StartAsync(IChatBackend backend, ServerOptions options)
    {
        var app = KimiServer.Build(backend, options);
        var server = new RecordingServer(app);
        var captureDirectory = Environment.GetEnvironmentVariable("KIMI_CAPTURE_DIR");
        app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            context.Request.Body.Position = 0;
            var recorded = new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, body);
            server._requests.Enqueue(recorded);
            if (!string.IsNullOrEmpty(captureDirectory) && body.Length > 0)
            {
                Directory.CreateDirectory(captureDirectory);
                var name = $"{server._requests.Count:00}-{context.Request.Path.Value!.Trim('/').Replace('/', '-')}.json";
                await File.WriteAllTextAsync(Path.Combine(captureDirectory, name), body, context.RequestAborted);
            }

            await next(context);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1").Replace("0.0.0.0", "127.0.0.1"));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <param name="Path">The path with its query string (Claude Code calls <c>/v1/messages?beta=true</c>).</param>
public sealed record RecordedRequest(string Method, string Path, string Body);
