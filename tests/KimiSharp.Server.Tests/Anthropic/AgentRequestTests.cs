using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anthropic.Models.Messages;
using KimiSharp.Engine;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using KimiSharp.Server.Tests.Support;
using OpenAI.Chat;

namespace KimiSharp.Server.Tests.Anthropic;

/// <summary>
/// What agents need from the answer path, on the real engine with the instruct template: huge max_tokens run to
/// the end of the context and stop with max_tokens/length, control tokens never reach answer text on any API, and
/// an instruct model never produces thinking blocks, and a request without tools never gets a tool call (Anthropic,
/// OpenAI chat; with the Enforcer and with --no-enforce).
/// </summary>
public sealed class AgentRequestTests(EngineServerFixture fixture) : IClassFixture<EngineServerFixture>
{
    [Fact]
    public async Task Max_tokens_beyond_the_context_runs_to_the_end_of_the_context_and_stops_with_max_tokens()
    {
        var message = await fixture.Anthropic().Messages.Create(new MessageCreateParams
        {
            Model = "kimi",
            MaxTokens = 128000, // Claude Code's value; the context is 4096
            Messages = [new UserMessageParam("Go on forever")],
        });
        Assert.Equal(StopReason.MaxTokens, (StopReason)message.StopReason!);
        Assert.Equal(4096, message.Usage.InputTokens + message.Usage.CacheReadInputTokens + message.Usage.OutputTokens);

        ChatCompletion completion = await fixture.OpenAiChat().CompleteChatAsync([new UserChatMessage("Go on forever")],
            new ChatCompletionOptions { MaxOutputTokenCount = 1_000_000 });
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(4096, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Control_tokens_never_reach_the_answer_text_on_any_api()
    {
        var message = await fixture.Anthropic().Messages.Create(new MessageCreateParams
        {
            Model = "kimi",
            MaxTokens = 64,
            Messages = [new UserMessageParam("Show me the specials")],
        });
        Assert.True(message.Content.Single().TryPickText(out var text));
        Assert.Equal(ScriptedLanguageModel.SpecialsText, text!.Text);

        ChatCompletion completion = await fixture.OpenAiChat().CompleteChatAsync([new UserChatMessage("Show me the specials")]);
        Assert.Equal(ScriptedLanguageModel.SpecialsText, completion.Content[0].Text);

        var streamed = new StringBuilder();
        await foreach (var update in fixture.OpenAiChat().CompleteChatStreamingAsync([new UserChatMessage("Show me the specials")]))
            foreach (var part in update.ContentUpdate)
                streamed.Append(part.Text);
        Assert.Equal(ScriptedLanguageModel.SpecialsText, streamed.ToString());

        // A raw completion continues the same prompt text: control tokens are hidden there too, as in llama-server.
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var raw = await http.PostAsJsonAsync("/v1/completions", new
        {
            model = "kimi",
            prompt = "<|im_user|>user<|im_middle|>Show me the specials<|im_end|><|im_assistant|>assistant<|im_middle|>",
            max_tokens = 64,
        });
        var rawText = (await raw.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("text").GetString();
        Assert.Equal(ScriptedLanguageModel.SpecialsText, rawText);
    }

    [Fact]
    public async Task Instruct_model_never_emits_thinking_blocks_even_when_asked_to_think()
    {
        var message = await fixture.Anthropic().Messages.Create(new MessageCreateParams
        {
            Model = "kimi",
            MaxTokens = 64,
            Thinking = new ThinkingConfigEnabled(1024),
            Messages = [new UserMessageParam("Please think step by step.")],
        });
        Assert.DoesNotContain(message.Content, block => block.TryPickThinking(out _));
        Assert.True(message.Content.Single().TryPickText(out var text));
        Assert.StartsWith("<think>", text!.Text); // the instruct template does not reason: its text is just text

        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new { model = "kimi", messages = new[] { new { role = "user", content = "Please think step by step." } } });
        var json = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("message");
        Assert.False(json.TryGetProperty("reasoning_content", out _));
    }

    [Fact]
    public async Task Without_declared_tools_the_model_cannot_open_a_tool_call()
    {
        // "weather" makes the scripted model write a tool call; with no tools declared the markers are banned.
        var message = await fixture.Anthropic().Messages.Create(new MessageCreateParams
        {
            Model = "kimi",
            MaxTokens = 8,
            Messages = [new UserMessageParam("What is the weather in Paris?")],
        });
        Assert.NotEqual(StopReason.ToolUse, (StopReason)message.StopReason!);
        Assert.DoesNotContain(message.Content, block => block.TryPickToolUse(out _));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Openai_chat_without_declared_tools_never_returns_tool_calls(bool stream)
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "kimi",
            max_tokens = 8,
            stream,
            messages = new[] { new { role = "user", content = "What is the weather in Paris?" } },
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        var choices = stream
            ? Sse.Parse(body).Where(f => f.Data != "[DONE]").Select(f => JsonDocument.Parse(f.Data).RootElement.GetProperty("choices")).Where(c => c.GetArrayLength() > 0).Select(c => c[0]).ToList()
            : [JsonDocument.Parse(body).RootElement.GetProperty("choices")[0]];
        Assert.NotEmpty(choices);
        Assert.All(choices, c => Assert.False(c.TryGetProperty(stream ? "delta" : "message", out var m) && m.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array));
        Assert.DoesNotContain(choices, c => c.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String && f.GetString() == "tool_calls");
    }

    [Fact]
    public async Task Without_enforcement_a_request_without_tools_still_cannot_open_a_tool_call()
    {
        // --no-enforce: the tokens that open a call are banned by bias instead of the Enforcer's mask.
        var model = new ScriptedLanguageModel(fixture.Tokenizer);
        using var backend = new EngineChatBackend(
            new InferenceEngine(model, fixture.Tokenizer, new EngineOptions { ContextLength = 4096, MaxActiveSequences = 1 }),
            fixture.Tokenizer, new KimiSharp.Chat.ChatFormatter(KimiSharp.Chat.KimiChatTemplate.Source, "[BOS]", "<|im_end|>"), "kimi", enforcement: new EnforcementOptions(Enabled: false));
        var question = new ChatPromptRequest([new PromptMessage("user", "What is the weather in Paris?")], null, KimiSharp.Server.Backend.ToolChoice.Auto);
        var updates = new List<GenerationUpdate>();
        await foreach (var update in backend.GenerateAsync(backend.PrepareChat(question), new GenerationOptions { MaxTokens = 8 }, CancellationToken.None))
            updates.Add(update);
        Assert.Contains(updates, u => u is KimiSharp.Server.Backend.TextDelta { Text.Length: > 0 });
        Assert.DoesNotContain(updates, u => u is KimiSharp.Server.Backend.ToolCallStarted);

        // The same prompt with the tool declared does call it: the ban is what stopped it above.
        var tool = new PromptTool("get_weather", null, """{"type":"object","properties":{"city":{"type":"string"}}}""");
        var withTool = new List<GenerationUpdate>();
        await foreach (var update in backend.GenerateAsync(backend.PrepareChat(question with { Tools = [tool] }), new GenerationOptions { MaxTokens = 64 }, CancellationToken.None))
            withTool.Add(update);
        Assert.Contains(withTool, u => u is KimiSharp.Server.Backend.ToolCallStarted { Name: "get_weather" });
    }

    [Fact]
    public async Task A_silent_stream_sends_pings_until_the_model_answers()
    {
        var backend = new ScriptedChatBackend();
        await using var server = await KimiServer.StartAsync(backend, new ServerOptions { Port = 0, StreamHeartbeat = TimeSpan.FromMilliseconds(20) });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var body = """{"model":"kimi","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"block"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        await backend.BlockStarted.Task;
        int pings = 0;
        while (pings < 3 && await reader.ReadLineAsync() is { } line)
            if (line == "event: ping")
                pings++;
        backend.Release(); // three pings (one at the start, two while the model was silent), then the answer

        var rest = await reader.ReadToEndAsync();
        Assert.Contains("event: message_stop", rest);
        Assert.DoesNotContain("event: error", rest);
    }
}
