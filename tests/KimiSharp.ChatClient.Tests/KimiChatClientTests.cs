using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using KimiSharp.Engine;
using KimiSharp.Gguf;
using Microsoft.Extensions.AI;

namespace KimiSharp.ChatClient.Tests;

/// <summary>
/// The issue's four checks through <see cref="IChatClient"/> on the demo model, from a project that references only the
/// KimiSharp library: a reply with usage, streaming, JSON-schema output, a RequireAny tool call. Plus function invocation,
/// cancellation, tool mode none, stop sequences, seeds and GetService. The demo model's text is noise, so the checks are
/// about structure (usage, finish reasons, schema validity, agreement between runs), never about wording.
/// </summary>
[Collection(DemoChatClientCollection.Name)]
public sealed class KimiChatClientTests(DemoChatClientFixture fixture)
{
    private const string WeatherSchema = """
        {"type":"object","properties":{"city":{"type":"string","maxLength":12},"days":{"type":"integer","minimum":1,"maximum":7}},
         "required":["city","days"],"additionalProperties":false}
        """;

    private const string TimeSchema = """{"type":"object","properties":{"city":{"type":"string","maxLength":12}},"required":["city"]}""";

    private IChatClient Client => fixture.Client;

    /// <summary>get_weather and get_time offered under <paramref name="mode"/>, sampled at temperature 1 with <paramref name="seed"/>.</summary>
    private static ChatOptions TwoTools(ChatToolMode mode, long seed) => new()
    {
        Temperature = 1,
        Seed = seed,
        MaxOutputTokens = 200,
        Tools = [AIFunctionFactory.CreateDeclaration("get_weather", "Weather forecast for a city", JsonElement.Parse(WeatherSchema)),
            AIFunctionFactory.CreateDeclaration("get_time", "The time in a city", JsonElement.Parse(TimeSchema))],
        ToolMode = mode,
    };

    private static ChatOptions Greedy(int maxTokens) => new() { Temperature = 0, MaxOutputTokens = maxTokens };

    [Fact]
    public async Task GetResponseAsync_replies_with_usage_and_a_finish_reason()
    {
        var response = await Client.GetResponseAsync("Hello, who are you?", Greedy(12));

        var message = Assert.Single(response.Messages);
        Assert.Equal(ChatRole.Assistant, message.Role);
        Assert.NotNull(response.Usage);
        Assert.True(response.Usage.InputTokenCount > 5, $"input tokens {response.Usage.InputTokenCount}");
        Assert.InRange(response.Usage.OutputTokenCount!.Value, 1, 12);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
        Assert.Equal(response.Usage.OutputTokenCount == 12 ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("kimi-tiny-demo", response.ModelId);
        Assert.False(string.IsNullOrEmpty(response.ResponseId));
        Assert.DoesNotContain("<|", response.Text);
    }

    [Fact]
    public async Task Streaming_gives_the_same_reply_as_GetResponseAsync_in_several_updates()
    {
        var options = Greedy(16);
        var whole = await Client.GetResponseAsync("Tell me a story.", options);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in Client.GetStreamingResponseAsync("Tell me a story.", options))
            updates.Add(update);

        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.True(updates.Count >= 2, $"{updates.Count} updates");
        Assert.All(updates, u => Assert.Equal(updates[0].ResponseId, u.ResponseId));
        var last = updates[^1];
        Assert.Equal(whole.FinishReason, last.FinishReason);
        var usage = Assert.IsType<UsageContent>(Assert.Single(last.Contents)).Details;
        Assert.Equal(whole.Usage!.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.All(updates[..^1], u => Assert.Null(u.FinishReason));
    }

    [Fact]
    public async Task ResponseFormat_json_schema_gives_json_valid_against_the_schema()
    {
        var schema = JsonElement.Parse("""
            {"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer","minimum":0,"maximum":150},
             "tags":{"type":"array","items":{"enum":["a","b","c"]},"maxItems":3}},
             "required":["name","age","tags"],"additionalProperties":false}
            """);
        var options = new ChatOptions { Temperature = 1, Seed = 7, MaxOutputTokens = 200, ResponseFormat = ChatResponseFormat.ForJsonSchema(schema, "person") };

        var response = await Client.GetResponseAsync("Describe a person as JSON.", options);

        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        var result = JsonSchema.FromText(schema.GetRawText()).Evaluate(JsonElement.Parse(response.Text));
        Assert.True(result.IsValid, response.Text);
    }

    [Fact]
    public async Task ResponseFormat_json_gives_a_json_object()
    {
        var options = new ChatOptions { Temperature = 1, Seed = 3, MaxOutputTokens = 300, ResponseFormat = ChatResponseFormat.Json };

        var response = await Client.GetResponseAsync("Reply in JSON.", options);

        if (response.FinishReason == ChatFinishReason.Stop)
            Assert.IsType<JsonObject>(JsonNode.Parse(response.Text));
        else
            Assert.StartsWith("{", response.Text); // a random model may keep an object open until the limit
    }

    [Fact]
    public async Task RequireAny_gives_a_call_to_a_declared_tool_with_schema_valid_arguments()
    {
        // Several calls are allowed: the random model may keep calling until the token limit (finish reason length).
        var response = await Client.GetResponseAsync("What's the weather in Paris this week?", TwoTools(ChatToolMode.RequireAny, seed: 11));

        var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
        Assert.NotEmpty(calls);
        Assert.True(response.FinishReason == ChatFinishReason.ToolCalls || response.FinishReason == ChatFinishReason.Length, $"finish reason {response.FinishReason}");
        for (int i = 0; i < calls.Count; i++)
        {
            var call = calls[i];
            Assert.Null(call.Exception);
            Assert.Contains(call.Name, new[] { "get_weather", "get_time" });
            Assert.Equal($"functions.{call.Name}:{i}", call.CallId);
            var arguments = JsonSerializer.SerializeToElement(call.Arguments, AIJsonUtilities.DefaultOptions);
            Assert.True(JsonSchema.FromText(call.Name == "get_weather" ? WeatherSchema : TimeSchema).Evaluate(arguments).IsValid, arguments.GetRawText());
        }
    }

    [Fact]
    public async Task RequireSpecific_calls_only_the_named_tool()
    {
        var options = TwoTools(ChatToolMode.RequireSpecific("get_time"), seed: 5);
        options.AllowMultipleToolCalls = false;

        var response = await Client.GetResponseAsync("What time is it in Oslo?", options);

        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_time", call.Name);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
    }

    [Fact]
    public async Task ToolMode_none_never_calls_a_declared_tool()
    {
        var tools = new List<AITool> { AIFunctionFactory.CreateDeclaration("get_weather", null, JsonElement.Parse(WeatherSchema)) };
        var required = await Client.GetResponseAsync("Weather in Rome?", new ChatOptions { Temperature = 1, Seed = 2, MaxOutputTokens = 60, Tools = tools, ToolMode = ChatToolMode.RequireAny });
        Assert.NotEmpty(required.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());

        for (int seed = 0; seed < 3; seed++)
        {
            var none = await Client.GetResponseAsync("Weather in Rome?", new ChatOptions { Temperature = 1, Seed = seed, MaxOutputTokens = 60, Tools = tools, ToolMode = ChatToolMode.None });
            Assert.Empty(none.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
            Assert.NotEqual(ChatFinishReason.ToolCalls, none.FinishReason);
            Assert.DoesNotContain("<|tool", none.Text);
        }
    }

    [Fact]
    public async Task UseFunctionInvocation_runs_the_function_and_sends_its_result_back()
    {
        var invoked = new List<string>();
        var weather = AIFunctionFactory.Create((string city, int days) =>
        {
            invoked.Add(city);
            return $"sunny for {days} days";
        }, "get_weather", "Weather forecast for a city");
        var seen = new List<List<ChatMessage>>();
        var client = new ChatClientBuilder(fixture.Client) // not disposed: that would dispose the shared client
            .UseFunctionInvocation(configure: f => f.MaximumIterationsPerRequest = 3)
            .Use(async (messages, options, next, cancellationToken) =>
            {
                seen.Add(messages.ToList());
                await next(messages, options, cancellationToken);
            })
            .Build();

        var response = await client.GetResponseAsync("Weather in Lima?", new ChatOptions
        {
            Temperature = 1, Seed = 4, MaxOutputTokens = 300, Tools = [weather], ToolMode = ChatToolMode.RequireAny, AllowMultipleToolCalls = false,
        });

        Assert.True(invoked.Count > 0, string.Join(" | ", response.Messages.Select(m => $"{m.Role}: {string.Join(", ", m.Contents.Select(c => c is FunctionCallContent f ? $"call {f.Name} {f.Exception?.Message}" : c.ToString()))}")));
        Assert.True(seen.Count >= 2, $"{seen.Count} model calls");
        var call = seen[1].SelectMany(m => m.Contents).OfType<FunctionCallContent>().First();
        var result = seen[1].SelectMany(m => m.Contents).OfType<FunctionResultContent>().First();
        Assert.Equal(call.CallId, result.CallId);
        Assert.Equal($"sunny for {call.Arguments!["days"]} days", result.Result?.ToString());
        Assert.Contains(response.Messages, m => m.Role == ChatRole.Tool);
        Assert.NotNull(response.Usage);
    }

    [Fact]
    public async Task Cancelling_stops_the_stream_and_the_engine_keeps_serving()
    {
        // The schema forces 400+ characters, so the answer is still running when the first update arrives.
        var options = new ChatOptions
        {
            Temperature = 1, Seed = 9, MaxOutputTokens = 1500,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonElement.Parse("""{"type":"string","minLength":400}"""), "long"),
        };
        using var cts = new CancellationTokenSource();
        int updates = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in Client.GetStreamingResponseAsync("Write a long text.", options, cts.Token))
            {
                Assert.Null(update.FinishReason);
                updates++;
                cts.Cancel();
            }
        });
        Assert.Equal(1, updates);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client.GetResponseAsync("Hi", Greedy(4), cts.Token));
        var after = await Client.GetResponseAsync("Hi", Greedy(4));
        Assert.NotNull(after.Usage);
    }

    [Fact]
    public async Task StopSequences_end_the_reply_before_the_stop_text()
    {
        var free = await Client.GetResponseAsync("Count with me.", Greedy(24));
        var text = free.Text;
        Assert.True(text.Length >= 6, $"the demo model's greedy reply is too short to cut: '{text}'");
        var stop = text.Substring(text.Length / 2, 2);
        int cut = text.IndexOf(stop, StringComparison.Ordinal);

        var options = Greedy(24);
        options.StopSequences = [stop];
        var stopped = await Client.GetResponseAsync("Count with me.", options);

        Assert.Equal(text[..cut], stopped.Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_sampled_reply()
    {
        var options = new ChatOptions { Temperature = 1, TopP = 0.9f, TopK = 40, Seed = 1234, MaxOutputTokens = 12, FrequencyPenalty = 0.5f, PresencePenalty = 0.5f };

        var first = await Client.GetResponseAsync("Say something.", options);
        var second = await Client.GetResponseAsync("Say something.", options);

        Assert.Equal(first.Text, second.Text);
        Assert.Equal(first.Usage!.OutputTokenCount, second.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Concurrent_calls_are_batched_into_shared_engine_steps()
    {
        // Each answer must be 200+ characters, so none ends before its 12-token limit; the calls are submitted before any is read.
        var options = new ChatOptions
        {
            Temperature = 1, MaxOutputTokens = 12,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonElement.Parse("""{"type":"string","minLength":200}"""), "long"),
        };
        var engine = fixture.Client.Engine;
        long stepsBefore = engine.Stats.Steps;

        var streams = Enumerable.Range(0, 4).Select(i => Client.GetStreamingResponseAsync($"Story {i}", options)).ToList();
        var replies = await Task.WhenAll(streams.Select(s => s.ToChatResponseAsync()));

        Assert.All(replies, r => Assert.Equal(12, r.Usage!.OutputTokenCount));
        long steps = engine.Stats.Steps - stepsBefore;
        Assert.True(steps <= 2 * 12, $"{steps} engine steps for 4 × 12 tokens: the sequences did not share steps");
    }

    [Fact]
    public async Task Concurrent_calls_all_complete_on_the_one_engine()
    {
        var replies = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            Client.GetResponseAsync($"Question {i}?", new ChatOptions { Temperature = 1, Seed = i, MaxOutputTokens = 8 })));

        Assert.All(replies, r => Assert.InRange(r.Usage!.OutputTokenCount!.Value, 1, 8));
        Assert.Equal(0, fixture.Client.Engine.Stats.QueueDepth);
    }

    [Fact]
    public void GetService_returns_the_engine_and_the_model_metadata()
    {
        var metadata = Client.GetService<ChatClientMetadata>();
        Assert.NotNull(metadata);
        Assert.Equal("kimisharp", metadata.ProviderName);
        Assert.Equal("kimi-tiny-demo", metadata.DefaultModelId);
        Assert.Same(fixture.Client.Engine, Client.GetService<InferenceEngine>());
        Assert.Equal("deepseek2", Client.GetService<GgufMetadata>()!.GetString("general.architecture"));
        Assert.True(Client.GetService<LocalModel>()!.IsDemo);
        Assert.Null(Client.GetService<InferenceEngine>(serviceKey: "other"));
    }

    [Fact]
    public async Task Bad_requests_fail_with_clear_errors_before_generating()
    {
        var tools = new List<AITool> { AIFunctionFactory.CreateDeclaration("get_weather", null, JsonElement.Parse(WeatherSchema)) };
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() =>
            Client.GetResponseAsync("x", new ChatOptions { Tools = tools, ToolMode = ChatToolMode.RequireSpecific("nope") }));
        Assert.Contains("'nope'", unknown.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => Client.GetResponseAsync("x", new ChatOptions { ToolMode = ChatToolMode.RequireAny }));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.GetResponseAsync("x", new ChatOptions { MaxOutputTokens = 0 }));
        await Assert.ThrowsAsync<NotSupportedException>(() =>
            Client.GetResponseAsync([new ChatMessage(ChatRole.User, [new DataContent(new byte[] { 1 }, "image/png")])]));
        await Assert.ThrowsAsync<ContextOverflowException>(() => Client.GetResponseAsync(new string('x', 40_000)));
    }
}
