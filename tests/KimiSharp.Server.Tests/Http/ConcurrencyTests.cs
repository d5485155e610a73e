using System.Net;
using System.Text;
using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using KimiSharp.Server.Tests.Support;
using OpenAI.Chat;

namespace KimiSharp.Server.Tests.Http;

/// <summary>Many streams at once, clients that leave mid-stream, a full queue, and the loading state.</summary>
public sealed class ConcurrencyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Sixteen_concurrent_streams_all_complete_with_their_own_text()
    {
        var client = fixture.OpenAiChat();
        var streams = Enumerable.Range(0, 16).Select(async i =>
        {
            var text = new StringBuilder();
            ChatFinishReason? finish = null;
            await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage($"echo:stream number {i} says hello")]))
            {
                foreach (var part in update.ContentUpdate)
                    text.Append(part.Text);
                finish ??= update.FinishReason;
            }

            return (i, Text: text.ToString(), finish);
        }).ToList();

        foreach (var (i, text, finish) in await Task.WhenAll(streams))
        {
            Assert.Equal($"stream number {i} says hello", text);
            Assert.Equal(ChatFinishReason.Stop, finish);
        }
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"kimi","stream":true,"messages":[{"role":"user","content":"forever"}]}""")]
    [InlineData("/v1/messages", """{"model":"kimi","max_tokens":2000,"stream":true,"messages":[{"role":"user","content":"forever"}]}""")]
    public async Task Client_disconnect_mid_stream_cancels_generation(string path, string json)
    {
        await using var server = await KimiServer.StartAsync(new ScriptedChatBackend(), new ServerOptions { Port = 0 });
        var backend = (ScriptedChatBackend)server.State.Backend;
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[256];
        int read = 0;
        while (read < 200)
            read += await stream.ReadAsync(buffer);

        response.Dispose(); // the client goes away mid-stream

        int produced = await backend.ForeverCancelled.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(produced > 0);
        // The request pipeline records the cancellation and releases its gate slot just after the backend
        // finishes, on another thread: wait (bounded) for that final state instead of racing it.
        await WaitUntilAsync(() => backend.InFlight == 0 && server.State.Gate.Admitted == 0);
        await WaitUntilAsync(() => System.Text.RegularExpressions.Regex.IsMatch(
            server.State.Metrics.Render(backend, server.State.Gate.Admitted), "kimi_requests_cancelled_total [1-9]"));
        Assert.Matches("kimi_requests_cancelled_total [1-9]", server.State.Metrics.Render(backend, server.State.Gate.Admitted));
        Assert.Equal(0, server.State.Gate.Admitted);
    }

    [Fact]
    public async Task Full_queue_answers_429_in_each_api_and_recovers()
    {
        var backend = new ScriptedChatBackend();
        await using var server = await KimiServer.StartAsync(backend, new ServerOptions { Port = 0, MaxQueuedRequests = 1 });
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        var blocked = client.PostAsync("/v1/chat/completions", Json("""{"model":"kimi","messages":[{"role":"user","content":"block"}]}"""));
        await backend.BlockStarted.Task.WaitAsync(TimeSpan.FromSeconds(20));

        var openAi = await client.PostAsync("/v1/chat/completions", Json("""{"model":"kimi","messages":[{"role":"user","content":"echo:x"}]}"""));
        Assert.Equal(HttpStatusCode.TooManyRequests, openAi.StatusCode);
        Assert.Equal("rate_limit_error", JsonDocument.Parse(await openAi.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());

        var anthropic = await client.PostAsync("/v1/messages", Json("""{"model":"kimi","max_tokens":5,"messages":[{"role":"user","content":"echo:x"}]}"""));
        Assert.Equal(HttpStatusCode.TooManyRequests, anthropic.StatusCode);
        Assert.Equal("rate_limit_error", JsonDocument.Parse(await anthropic.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());

        backend.Release();
        Assert.Equal(HttpStatusCode.OK, (await blocked).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/chat/completions", Json("""{"model":"kimi","messages":[{"role":"user","content":"echo:x"}]}"""))).StatusCode);
    }

    [Fact]
    public async Task Health_reports_loading_and_generation_waits_with_503_until_the_model_is_ready()
    {
        var loaded = new TaskCompletionSource<IChatBackend>();
        var backend = new LoadingChatBackend(loaded.Task, new ModelDescription("kimi", 1, 1, 0));
        await using var server = await KimiServer.StartAsync(backend, new ServerOptions { Port = 0 });
        using var client = new HttpClient { BaseAddress = server.BaseAddress };

        var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("loading", JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        var chat = await client.PostAsync("/v1/chat/completions", Json("""{"model":"kimi","messages":[{"role":"user","content":"echo:x"}]}"""));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, chat.StatusCode);
        var messages = await client.PostAsync("/v1/messages", Json("""{"model":"kimi","max_tokens":5,"messages":[{"role":"user","content":"echo:x"}]}"""));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, messages.StatusCode);
        Assert.Equal("overloaded_error", JsonDocument.Parse(await messages.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());

        loaded.SetResult(new ScriptedChatBackend());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        var ok = await client.PostAsync("/v1/chat/completions", Json("""{"model":"kimi","messages":[{"role":"user","content":"echo:ready"}]}"""));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in 20 s");
            await Task.Yield();
        }
    }
}
