using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anthropic.Models.Messages;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Tests.Support;
using OpenAI.Chat;

namespace KimiSharp.Server.Tests.Anthropic;

/// <summary>
/// A thinking model's template (Kimi-K2-Thinking's format) over the real engine, with the scripted model writing
/// <c>&lt;think&gt;…&lt;/think&gt;answer</c>: reasoning becomes thinking blocks (signed, round-tripping into the
/// history) and OpenAI <c>reasoning_content</c>, never answer text.
/// </summary>
public sealed class ThinkingModelTests(ThinkingEngineServerFixture fixture) : IClassFixture<ThinkingEngineServerFixture>
{
    private const string Reasoning = "Two and two make four.";

    private static MessageCreateParams Question(ThinkingConfigParam? thinking = null) => new()
    {
        Model = "kimi-thinking",
        MaxTokens = 200,
        Messages = [new UserMessageParam("What is 2+2? Please think step by step.")],
        Thinking = thinking,
    };

    [Fact]
    public async Task Reasoning_comes_back_as_a_signed_thinking_block_before_the_text()
    {
        var message = await fixture.Anthropic().Messages.Create(Question(new ThinkingConfigEnabled(1024)));

        Assert.Equal(2, message.Content.Count);
        Assert.True(message.Content[0].TryPickThinking(out var thinking));
        Assert.Equal(Reasoning, thinking!.Thinking);
        Assert.True(ThinkingSignatureCarries(thinking.Signature, Reasoning));
        Assert.True(message.Content[1].TryPickText(out var text));
        Assert.Equal("The answer is 4.", text!.Text);
        Assert.Equal(StopReason.EndTurn, (StopReason)message.StopReason!);
    }

    [Fact]
    public async Task Stream_sends_the_thinking_block_first_with_thinking_and_signature_deltas()
    {
        var events = await StreamEventsAsync("""{"type":"adaptive"}""");

        var types = events.Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(["message_start", "ping", "content_block_start"], types.Take(3));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], types.TakeLast(3));
        var thinkingStart = events[2].GetProperty("content_block");
        Assert.Equal("thinking", thinkingStart.GetProperty("type").GetString());
        var deltas = events.Where(e => e.GetProperty("type").GetString() == "content_block_delta").Select(e => e.GetProperty("delta")).ToList();
        var thought = string.Concat(deltas.Where(d => d.GetProperty("type").GetString() == "thinking_delta").Select(d => d.GetProperty("thinking").GetString()));
        Assert.Equal(Reasoning, thought);
        var signature = deltas.Single(d => d.GetProperty("type").GetString() == "signature_delta").GetProperty("signature").GetString();
        Assert.True(ThinkingSignatureCarries(signature!, Reasoning));
        var text = string.Concat(deltas.Where(d => d.GetProperty("type").GetString() == "text_delta").Select(d => d.GetProperty("text").GetString()));
        Assert.Equal("The answer is 4.", text);
        // One block at a time: the text block starts after the thinking block stopped.
        int thinkingStop = types.IndexOf("content_block_stop");
        int textStart = types.LastIndexOf("content_block_start");
        Assert.True(thinkingStop < textStart);
    }

    [Fact]
    public async Task Sdk_stream_reads_thinking_and_signature_deltas()
    {
        var thought = new StringBuilder();
        var text = new StringBuilder();
        string? signature = null;
        await foreach (var item in fixture.Anthropic().Messages.CreateStreaming(Question(new ThinkingConfigEnabled(1024))))
        {
            if (!item.TryPickContentBlockDelta(out var delta))
                continue;
            if (delta!.Delta.TryPickThinking(out var thinking))
                thought.Append(thinking!.Thinking);
            if (delta.Delta.TryPickSignature(out var signed))
                signature = signed!.Signature;
            if (delta.Delta.TryPickText(out var piece))
                text.Append(piece!.Text);
        }

        Assert.Equal(Reasoning, thought.ToString());
        Assert.True(ThinkingSignatureCarries(signature!, Reasoning));
        Assert.Equal("The answer is 4.", text.ToString());
    }

    [Fact]
    public async Task Display_omitted_sends_no_thinking_text_but_the_signature_still_carries_it_back()
    {
        var events = await StreamEventsAsync("""{"type":"adaptive","display":"omitted"}""");
        var deltas = events.Where(e => e.GetProperty("type").GetString() == "content_block_delta").Select(e => e.GetProperty("delta")).ToList();
        Assert.DoesNotContain(deltas, d => d.GetProperty("type").GetString() == "thinking_delta");
        var signature = deltas.Single(d => d.GetProperty("type").GetString() == "signature_delta").GetProperty("signature").GetString()!;

        // Claude Code sends the block back with empty thinking text; the model sees its reasoning again.
        var history = new MessageCreateParams
        {
            Model = "kimi-thinking",
            MaxTokens = 200,
            Messages =
            [
                new UserMessageParam("What is 2+2? Please think step by step."),
                new AssistantMessageParam(new List<ContentBlockParam>
                {
                    new ThinkingBlockParam { Thinking = "", Signature = signature },
                    new ToolUseBlockParam { ID = "toolu_calc", Name = "calc", Input = new Dictionary<string, JsonElement>() },
                }),
                new UserMessageParam(new List<ContentBlockParam> { new ToolResultBlockParam("toolu_calc") { Content = "4" } }),
            ],
        };
        await fixture.Anthropic().Messages.Create(history);
        Assert.Contains($"<|im_assistant|>assistant<|im_middle|><think>{Reasoning}</think><|tool_calls_section_begin|>", fixture.Model.LastPrompt);
    }

    [Fact]
    public async Task OpenAi_chat_returns_reasoning_content_apart_from_the_answer()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "kimi-thinking",
            messages = new[] { new { role = "user", content = "What is 2+2? Please think step by step." } },
        });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var message = body.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal(Reasoning, message.GetProperty("reasoning_content").GetString());
        Assert.Equal("The answer is 4.", message.GetProperty("content").GetString());
        var usage = body.GetProperty("usage"); // reasoning tokens counted apart, as OpenAI's reasoning models report them
        Assert.InRange(usage.GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32(), 1, usage.GetProperty("completion_tokens").GetInt32() - 1);

        // The official SDK reads the answer; streamed deltas carry the same split.
        var content = new StringBuilder();
        await foreach (var update in fixture.OpenAiChat().CompleteChatStreamingAsync([new UserChatMessage("What is 2+2? Please think step by step.")]))
            foreach (var part in update.ContentUpdate)
                content.Append(part.Text);
        Assert.Equal("The answer is 4.", content.ToString());
    }

    [Fact]
    public async Task Reasoning_content_in_openai_history_reaches_the_template()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "kimi-thinking",
            messages = new object[]
            {
                new { role = "user", content = "weather?" },
                new { role = "assistant", content = "", reasoning_content = "I should call it.", tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = "get_weather", arguments = "{}" } } } },
                new { role = "tool", tool_call_id = "call_1", content = "sunny" },
            },
        });
        response.EnsureSuccessStatusCode();
        Assert.Contains("<think>I should call it.</think><|tool_calls_section_begin|>", fixture.Model.LastPrompt);
    }

    [Fact]
    public void Thinking_disabled_closes_the_reasoning_before_the_model_writes()
    {
        var request = new ChatPromptRequest([new PromptMessage("user", "hi")], null, KimiSharp.Server.Backend.ToolChoice.Auto, SkipReasoning: true);
        var prompt = fixture.Backend.PrepareChat(request);
        Assert.EndsWith("<|im_assistant|>assistant<|im_middle|><think></think>", fixture.Backend.Detokenize(prompt.Tokens));
        var thinking = fixture.Backend.PrepareChat(request with { SkipReasoning = false });
        Assert.EndsWith("<|im_assistant|>assistant<|im_middle|>", fixture.Backend.Detokenize(thinking.Tokens));
    }

    [Fact]
    public async Task Thinking_disabled_still_lets_the_model_call_a_tool_at_once()
    {
        // The reply starts after the prefilled <think></think>, so the Enforcer must not wait for a reasoning end first.
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var response = await http.PostAsync("/v1/messages", new StringContent("""
            {"model":"kimi-thinking","max_tokens":200,"thinking":{"type":"disabled"},
             "tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
             "messages":[{"role":"user","content":"What is the weather in Paris?"}]}
            """, Encoding.UTF8, "application/json"));
        var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(message.GetProperty("stop_reason").GetString() == "tool_use", message.ToString());
        var call = message.GetProperty("content").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "tool_use");
        Assert.Equal(("get_weather", "Paris"), (call.GetProperty("name").GetString(), call.GetProperty("input").GetProperty("city").GetString()));
        Assert.DoesNotContain(message.GetProperty("content").EnumerateArray(), b => b.GetProperty("type").GetString() == "thinking");
    }

    private async Task<List<JsonElement>> StreamEventsAsync(string thinking)
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        var body = $$"""{"model":"kimi-thinking","max_tokens":200,"stream":true,"thinking":{{thinking}},"messages":[{"role":"user","content":"What is 2+2? Please think step by step."}]}""";
        using var response = await http.PostAsync("/v1/messages", new StringContent(body, Encoding.UTF8, "application/json"));
        var frames = Sse.Parse(await response.Content.ReadAsStringAsync());
        Assert.All(frames, f => Assert.Equal(f.Event, JsonDocument.Parse(f.Data).RootElement.GetProperty("type").GetString()));
        return frames.Select(f => JsonDocument.Parse(f.Data).RootElement.Clone()).ToList();
    }

    private static bool ThinkingSignatureCarries(string signature, string reasoning) =>
        CarriedReasoning.TryDecode(signature, out var carried) && carried == reasoning;
}
