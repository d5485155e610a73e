using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using KimiSharp.Engine;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KimiSharp.Server.Tests.Hosting;

/// <summary>
/// <c>app.MapKimi(client)</c> in an application of one's own: Kimi's APIs answer beside the app's own routes, on the
/// engine of the in-process <see cref="KimiChatClient"/>, and the API layer (key check, error JSON) stays on Kimi's paths.
/// </summary>
public sealed class MapKimiTests
{
    [Fact]
    public async Task MapKimi_serves_the_APIs_beside_the_application_routes_on_the_clients_engine()
    {
        using var kimi = new KimiChatClient(null, new KimiChatClientOptions { Threads = 2, Engine = new EngineOptions { ContextLength = 1024 } });
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.MapGet("/hello", () => "hello from the app");
        var state = app.MapKimi(kimi, new ServerOptions { ApiKey = "secret" });
        Assert.Same(kimi.Engine, Assert.IsType<EngineChatBackend>(state.Backend).Engine); // HTTP and in-process calls share one engine
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        Assert.Equal("hello from the app", await http.GetStringAsync("/hello")); // no key needed off Kimi's paths
        var refused = await http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("\"error\"", await refused.Content.ReadAsStringAsync());

        http.DefaultRequestHeaders.Authorization = new("Bearer", "secret");
        using var models = JsonDocument.Parse(await http.GetStringAsync("/v1/models"));
        Assert.Equal("kimi-tiny-demo", models.RootElement.GetProperty("data")[0].GetProperty("id").GetString());

        var chat = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "kimi-tiny-demo",
            messages = new[] { new { role = "user", content = "Hi" } },
            max_tokens = 4,
            temperature = 0,
        });
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        using var reply = JsonDocument.Parse(await chat.Content.ReadAsStringAsync());
        Assert.InRange(reply.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1, 4);

        var inProcess = await kimi.GetResponseAsync("Hi", new ChatOptions { Temperature = 0, MaxOutputTokens = 4 });
        Assert.NotNull(inProcess.Usage);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/nothing-here")).StatusCode);
        await app.StopAsync();
    }
}
