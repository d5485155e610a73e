using System.Net;
using System.Text;
using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Tests.Support;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;
using OllamaSharp.Models.Exceptions;
using AIChatOptions = Microsoft.Extensions.AI.ChatOptions;
using AIFunctionFactory = Microsoft.Extensions.AI.AIFunctionFactory;
using FunctionCallContent = Microsoft.Extensions.AI.FunctionCallContent;
using IChatClient = Microsoft.Extensions.AI.IChatClient;

namespace KimiSharp.Server.Tests.Ollama;

/// <summary>The official OllamaSharp client (5.5.2, unmodified) against a real server over the scripted backend.</summary>
public sealed class OllamaSharpTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static Microsoft.Extensions.AI.ChatMessage AiUser(string text) => new(Microsoft.Extensions.AI.ChatRole.User, text);

    private OllamaApiClient Client() => new(fixture.Http, "kimi-test");

    private static ChatRequest Chat(string text, bool stream, RequestOptions? options = null) => new()
    {
        Model = "kimi-test",
        Messages = [new Message(ChatRole.User, text)],
        Stream = stream,
        Options = options,
    };

    private static async Task<List<T>> AllAsync<T>(IAsyncEnumerable<T?> stream) where T : class
    {
        var items = new List<T>();
        await foreach (var item in stream)
            items.Add(item!);
        return items;
    }

    [Fact]
    public async Task Version_is_one_that_clients_accept()
    {
        var version = Version.Parse(await Client().GetVersionAsync());
        Assert.True(version >= new Version(0, 6, 4), $"version {version}");
    }

    [Fact]
    public async Task List_show_and_ps_describe_the_one_served_model()
    {
        var client = Client();
        var model = Assert.Single(await client.ListLocalModelsAsync());
        Assert.Equal("kimi-test:latest", model.Name);
        Assert.Equal("gguf", model.Details.Format);
        Assert.Equal("deepseek2", model.Details.Family);
        Assert.Matches("^[0-9a-f]{64}$", model.Digest);

        var show = await client.ShowModelAsync("kimi-test:latest");
        Assert.Equal(new[] { "completion", "tools" }, show.Capabilities);
        Assert.Equal("deepseek2", show.Info.Architecture);
        Assert.Equal(2048, ((JsonElement)show.Info.ExtraInfo!["deepseek2.context_length"]).GetInt32());
        Assert.Equal("gguf", show.Details.Format);

        var running = Assert.Single(await client.ListRunningModelsAsync());
        Assert.Equal("kimi-test:latest", running.Name);
        Assert.Equal(2048, running.ContextLength);
        Assert.True(running.ExpiresAt > DateTime.UtcNow);
    }

    [Fact]
    public async Task Chat_without_streaming_returns_one_done_object_with_counts()
    {
        var reply = Assert.Single(await AllAsync(Client().ChatAsync(Chat("echo:Hello, world!", stream: false))));

        var done = Assert.IsType<ChatDoneResponseStream>(reply);
        Assert.Equal("Hello, world!", done.Message.Content);
        Assert.Equal(ChatRole.Assistant, done.Message.Role);
        Assert.Equal("stop", done.DoneReason);
        Assert.Equal("kimi-test", done.Model);
        Assert.Equal(14, done.EvalCount); // 13 characters + end of turn
        Assert.Equal(Encoding.UTF8.GetByteCount("user: echo:Hello, world!\n"), done.PromptEvalCount);
        Assert.True(done.TotalDuration > 0 && done.EvalDuration >= 0 && done.PromptEvalDuration > 0);
        Assert.NotNull(done.CreatedAt);
    }

    [Fact]
    public async Task Chat_stream_yields_the_text_piece_by_piece_then_done()
    {
        var replies = await AllAsync(Client().ChatAsync(Chat("echo:Streaming works.", stream: true)));

        Assert.True(replies.Count >= 17, $"expected a line per token plus the final one, got {replies.Count}");
        Assert.All(replies.SkipLast(1), r => Assert.False(r.Done));
        Assert.Equal("Streaming works.", string.Concat(replies.Select(r => r.Message.Content)));
        var done = Assert.IsType<ChatDoneResponseStream>(replies[^1]);
        Assert.Equal("stop", done.DoneReason);
        Assert.Equal(17, done.EvalCount);
    }

    [Fact]
    public async Task Generate_streams_a_chat_formatted_prompt_and_raw_text_goes_as_given()
    {
        var client = Client();
        var replies = await AllAsync(client.GenerateAsync(new GenerateRequest { Prompt = "echo:generated", System = "Be brief." }));
        Assert.Equal("generated", string.Concat(replies.Select(r => r.Response)));
        Assert.Equal("stop", Assert.IsType<GenerateDoneResponseStream>(replies[^1]).DoneReason);
        Assert.Equal("system", fixture.Backend.LastChat!.Messages[0].Role);

        var raw = await AllAsync(client.GenerateAsync(new GenerateRequest { Prompt = "Once upon", Raw = true, Stream = false, Options = new RequestOptions { NumPredict = 9 } }));
        var done = Assert.IsType<GenerateDoneResponseStream>(Assert.Single(raw));
        Assert.Equal("The quick", done.Response);
        Assert.Equal("length", done.DoneReason);
        Assert.Equal(9, done.EvalCount);
        Assert.Equal(Encoding.UTF8.GetByteCount("Once upon"), done.PromptEvalCount); // the raw text, no template around it
    }

    [Fact]
    public async Task Options_reach_the_sampler_and_stop_strings_end_the_reply()
    {
        var options = new RequestOptions { Temperature = 0.25f, TopP = 0.5f, TopK = 7, MinP = 0.05f, Seed = 42, NumPredict = 100, Stop = ["world"] };
        var done = Assert.IsType<ChatDoneResponseStream>(Assert.Single(await AllAsync(Client().ChatAsync(Chat("echo:Hello, world! Bye.", stream: false, options)))));

        Assert.Equal("Hello, ", done.Message.Content);
        Assert.Equal("stop", done.DoneReason);
        var sampling = fixture.Backend.LastOptions!;
        Assert.Equal(0.25f, sampling.Temperature);
        Assert.Equal(0.5f, sampling.TopP);
        Assert.Equal(7, sampling.TopK);
        Assert.Equal(0.05f, sampling.MinP, 6);
        Assert.Equal(42, sampling.Seed);
        Assert.Equal(100, sampling.MaxTokens);
    }

    [Fact]
    public async Task Num_ctx_beyond_the_server_context_is_clamped_and_a_smaller_one_caps_the_reply()
    {
        var client = Client();
        var big = Assert.IsType<ChatDoneResponseStream>(Assert.Single(await AllAsync(client.ChatAsync(Chat("echo:ok", stream: false, new RequestOptions { NumCtx = 1_000_000 })))));
        Assert.Equal("ok", big.Message.Content);
        Assert.Equal(2048 - big.PromptEvalCount, fixture.Backend.LastOptions!.MaxTokens); // the server's 2048, not a million

        var prompt = Encoding.UTF8.GetByteCount("user: echo:abcdefghijklmnopqrstuvwxyz\n");
        var small = Assert.IsType<ChatDoneResponseStream>(Assert.Single(await AllAsync(client.ChatAsync(
            Chat("echo:abcdefghijklmnopqrstuvwxyz", stream: false, new RequestOptions { NumCtx = prompt + 5 })))));
        Assert.Equal("abcde", small.Message.Content);
        Assert.Equal("length", small.DoneReason);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Tool_call_comes_back_whole_with_name_and_arguments_object(bool stream)
    {
        var request = Chat("""call:get_weather {"city":"Paris","days":3}""", stream);
        request.Tools = [OllamaTestTools.Weather];

        var replies = await AllAsync(Client().ChatAsync(request));

        var call = Assert.Single(replies.SelectMany(r => r.Message.ToolCalls ?? []));
        Assert.Equal("get_weather", call.Function!.Name);
        Assert.Equal("Paris", call.Function.Arguments!["city"]!.ToString());
        Assert.Equal(3, ((JsonElement)call.Function.Arguments["days"]!).GetInt32());
        Assert.StartsWith("call_", call.Id);
        Assert.Equal("stop", Assert.IsType<ChatDoneResponseStream>(replies[^1]).DoneReason);
        var declared = Assert.Single(fixture.Backend.LastChat!.Tools!);
        Assert.Equal("get_weather", declared.Name);
        Assert.Contains("\"city\"", declared.ParametersJson);
    }

    [Fact]
    public async Task Tool_results_answer_the_calls_they_name_in_the_history()
    {
        var request = new ChatRequest
        {
            Model = "kimi-test:latest",
            Stream = false,
            Tools = [OllamaTestTools.Weather],
            Messages =
            [
                new Message(ChatRole.User, "weather in Paris and Rome?"),
                new Message(ChatRole.Assistant, "")
                {
                    ToolCalls =
                    [
                        new Message.ToolCall { Function = new Message.Function { Name = "get_weather", Arguments = new Dictionary<string, object?> { ["city"] = "Paris" } } },
                        new Message.ToolCall { Function = new Message.Function { Name = "get_time", Arguments = new Dictionary<string, object?> { ["city"] = "Rome" } } },
                    ],
                },
                new Message(ChatRole.Tool, "10:00") { ToolName = "get_time" },
                new Message(ChatRole.Tool, "sunny") { ToolName = "get_weather" },
            ],
        };

        var done = Assert.Single(await AllAsync(Client().ChatAsync(request)));

        Assert.Equal("Result: sunny", done.Message.Content);
        var messages = fixture.Backend.LastChat!.Messages;
        var calls = messages[1].ToolCalls!;
        Assert.Equal("""{"city":"Paris"}""", calls[0].Arguments);
        Assert.Equal((calls[1].Id, "get_time"), (messages[2].ToolCallId!, messages[2].Name!));
        Assert.Equal((calls[0].Id, "get_weather"), (messages[3].ToolCallId!, messages[3].Name!));
    }

    [Fact]
    public async Task Format_json_and_a_schema_become_the_enforced_output_format()
    {
        var client = Client();
        var request = Chat("echo:{}", stream: false);
        request.Format = "json";
        await AllAsync(client.ChatAsync(request));
        Assert.Equal(OutputFormatKind.JsonObject, fixture.Backend.LastOptions!.Format!.Kind);

        var schema = JsonDocument.Parse("""{"type":"object","properties":{"age":{"type":"integer"}},"required":["age"]}""").RootElement;
        await AllAsync(client.GenerateAsync(new GenerateRequest { Prompt = "echo:{}", Format = schema, Stream = false }));
        var format = fixture.Backend.LastOptions!.Format!;
        Assert.Equal(OutputFormatKind.JsonSchema, format.Kind);
        Assert.Equal("age", JsonDocument.Parse(format.Source!).RootElement.GetProperty("required")[0].GetString());

        request.Format = "yaml";
        var error = await Assert.ThrowsAsync<OllamaException>(() => AllAsync(client.ChatAsync(request)));
        Assert.Contains("format", error.Message);
    }

    [Fact]
    public async Task Unknown_model_is_404_naming_the_served_one()
    {
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => AllAsync(Client().ChatAsync(new ChatRequest
        {
            Model = "llama3.2", Messages = [new Message(ChatRole.User, "hi")], Stream = false,
        })));
        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        await Assert.ThrowsAsync<HttpRequestException>(() => Client().ShowModelAsync("llama3.2"));
    }

    [Fact]
    public async Task OllamaSharp_as_an_IChatClient_gets_text_usage_and_function_calls()
    {
        IChatClient client = Client();
        var response = await client.GetResponseAsync([AiUser("echo:via MEAI")]);
        Assert.Equal("via MEAI", response.Text);
        Assert.Equal(9, response.Usage!.OutputTokenCount);

        var tool = AIFunctionFactory.Create((string city) => "sunny", "get_weather", "Current weather for a city");
        var calling = await client.GetResponseAsync([AiUser("""call:get_weather {"city":"Oslo"}""")], new AIChatOptions { Tools = [tool] });
        var call = Assert.Single(calling.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Oslo", call.Arguments!["city"]!.ToString());
    }
}
