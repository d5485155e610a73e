using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using KimiSharp.Chat;
using KimiSharp.Engine;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using KimiSharp.Server.Tests.Support;
using KimiSharp.Text;
using Xunit.Abstractions;

namespace KimiSharp.Server.Tests.Engine;

/// <summary>
/// A bounded load test on loopback: rounds of 64 concurrent streaming clients against the real server and engine (only
/// the model is scripted), about a third of them leaving mid-stream at a random point. Every stream that runs to its end
/// must be complete; after each round the engine's gauges and KV blocks held by sequences are back at zero, and resident
/// memory stays flat from round to round.
/// </summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    private const int Clients = 64, Rounds = 4;

    [Fact]
    public async Task Sixty_four_streaming_clients_with_random_disconnects_finish_complete_and_leave_nothing_behind()
    {
        var tokenizer = Tokenizer.Create(TestVocabulary.Build());
        var model = new ScriptedLanguageModel(tokenizer);
        // The prefix cache may keep 64 blocks of 16 tokens no sequence uses, so the KV high-water mark settles after a round.
        const int cacheBlocks = 64, blockTokens = 16;
        var engine = new InferenceEngine(model, tokenizer, new EngineOptions
        {
            ContextLength = 1024, MaxActiveSequences = 8, KvBlockTokens = blockTokens,
            PrefixCacheBytes = cacheBlocks * blockTokens * model.KvBytesPerToken,
        });
        using var backend = new EngineChatBackend(engine, tokenizer, new ChatFormatter(KimiChatTemplate.Source, "[BOS]", "<|im_end|>"), "kimi-load");
        await using var server = await KimiServer.StartAsync(backend, new ServerOptions { Port = 0, MaxQueuedRequests = Clients });
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Clients }) { BaseAddress = server.BaseAddress };
        string expected = ScriptedLanguageModel.GreetingScript.Replace("<|im_end|>", "", StringComparison.Ordinal);

        var rng = new Random(20251207);
        var resident = new List<long>();
        var allocated = new List<int>();
        int completed = 0, abandoned = 0;
        for (int round = 0; round < Rounds; round++)
        {
            // Each client: a distinct prompt (a shared system prompt, so the prefix cache is exercised), and where it leaves (-1: never).
            var plans = Enumerable.Range(0, Clients).Select(i => (Id: round * Clients + i, LeaveAfter: rng.Next(3) == 0 ? rng.Next(1, 12) : -1)).ToArray();
            var results = await Task.WhenAll(plans.Select(p => Stream(http, p.Id, p.LeaveAfter)));
            foreach (var (plan, result) in plans.Zip(results))
            {
                if (plan.LeaveAfter >= 0 && result is null)
                {
                    abandoned++;
                    continue;
                }
                Assert.NotNull(result);
                Assert.Equal(expected, result!.Value.Text);
                Assert.Equal("stop", result.Value.Finish);
                completed++;
            }

            await Idle(backend.Engine, server.State);
            var stats = backend.Engine.Stats;
            Assert.Equal(0, stats.KvBlocksSequences);
            Assert.True(stats.KvBlocksCached <= cacheBlocks);
            Assert.Equal(0, server.State.Gate.Admitted);
            allocated.Add(stats.KvBlocksAllocated);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            using var process = Process.GetCurrentProcess();
            resident.Add(process.WorkingSet64);
            output.WriteLine($"round {round}: RSS {process.WorkingSet64 / (1024.0 * 1024):F1} MiB, managed {GC.GetTotalMemory(false) / (1024.0 * 1024):F1} MiB, " +
                $"KV blocks allocated {stats.KvBlocksAllocated}, cached {stats.KvBlocksCached}, steps {stats.Steps}, step tokens {stats.StepTokens}, " +
                $"prefix hits {stats.PrefixHitTokens}/{stats.PrefixQueryTokens}");
        }
        output.WriteLine($"{completed} streams complete, {abandoned} abandoned by their client");
        Assert.True(abandoned > Clients / 2 && completed > Clients * Rounds / 2);
        // Flat from the second round on (the first one warms up the JIT, pools and the KV high-water mark).
        // KV memory: at most the cache budget plus what 8 running sequences of ~100 tokens hold at once.
        Assert.True(allocated[^1] <= cacheBlocks + 8 * 8, $"KV blocks allocated: {string.Join(", ", allocated)}");
        long growth = resident[^1] - resident[1];
        Assert.True(growth < 48L << 20, $"resident memory grew {growth / (1024.0 * 1024):F1} MiB from round 2 to round {Rounds}");
    }

    /// <summary>One streaming chat request; the text and finish reason, or null when the client left after <paramref name="leaveAfter"/> frames.</summary>
    private static async Task<(string Text, string Finish)?> Stream(HttpClient http, int id, int leaveAfter)
    {
        string json = $$"""{"model":"kimi-load","stream":true,"messages":[{"role":"system","content":"You are a helpful assistant serving load test traffic."},{"role":"user","content":"Hello number {{id}}"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();
        string? finish = null;
        int frames = 0;
        bool done = false;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            if (leaveAfter >= 0 && ++frames > leaveAfter) return null;   // the client goes away mid-stream
            if (line == "data: [DONE]")
            {
                done = true;
                break;
            }
            using var chunk = JsonDocument.Parse(line[6..]);
            foreach (var choice in chunk.RootElement.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                    text.Append(content.GetString());
                if (choice.TryGetProperty("finish_reason", out var reason) && reason.ValueKind == JsonValueKind.String)
                    finish = reason.GetString();
            }
        }
        Assert.True(done, "the stream ended without [DONE]");
        return (text.ToString(), finish ?? "");
    }

    /// <summary>Waits (bounded) until no request is admitted, waiting or running: a client's disconnect reaches the engine asynchronously.</summary>
    private static async Task Idle(InferenceEngine engine, ServerState state)
    {
        var deadline = Stopwatch.StartNew();
        while (engine.Stats is { ActiveSequences: > 0 } or { QueueDepth: > 0 } || state.Gate.Admitted > 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"the engine did not go idle: {engine.Stats}");
            await Task.Delay(10);
        }
    }
}
