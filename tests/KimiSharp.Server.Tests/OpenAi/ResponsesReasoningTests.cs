#pragma warning disable OPENAI001 // the SDK marks its Responses client as evaluation-only
using System.ClientModel;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Tests.Support;
using OpenAI.Responses;

namespace KimiSharp.Server.Tests.OpenAi;

/// <summary>
/// /v1/responses with a thinking model (Kimi-K2-Thinking's format, scripted over the real engine): reasoning comes
/// out as a reasoning item (reasoning_text part, response.reasoning_text.delta events) before the message, and
/// comes back into the next assistant turn from Codex-style input (encrypted_content only) or the store.
/// </summary>
public sealed class ResponsesReasoningTests(ThinkingEngineServerFixture fixture) : IClassFixture<ThinkingEngineServerFixture>
{
    private const string Reasoning = "Two and two make four.";
    private const string Question = "What is 2+2? Please think step by step.";
    private const string WeatherTool = """{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}""";

    private async Task<JsonElement> CreateAsync(string json)
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var response = await http.PostAsync("/v1/responses", new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task Reasoning_is_a_reasoning_item_before_the_message_and_counted_in_usage()
    {
        var response = await CreateAsync($$"""{"model":"kimi-thinking","input":"{{Question}}"}""");

        var output = response.GetProperty("output").EnumerateArray().ToList();
        Assert.Equal(2, output.Count);
        var reasoning = output[0];
        Assert.Equal(("reasoning", "completed"), (reasoning.GetProperty("type").GetString(), reasoning.GetProperty("status").GetString()));
        Assert.StartsWith("rs_", reasoning.GetProperty("id").GetString());
        Assert.Equal(0, reasoning.GetProperty("summary").GetArrayLength());
        var part = Assert.Single(reasoning.GetProperty("content").EnumerateArray());
        Assert.Equal(("reasoning_text", Reasoning), (part.GetProperty("type").GetString(), part.GetProperty("text").GetString()));
        Assert.False(reasoning.TryGetProperty("encrypted_content", out _)); // not asked for in include
        Assert.Equal("The answer is 4.", output[1].GetProperty("content")[0].GetProperty("text").GetString());

        var usage = response.GetProperty("usage");
        int reasoningTokens = usage.GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt32();
        Assert.InRange(reasoningTokens, 1, usage.GetProperty("output_tokens").GetInt32() - 1);
    }

    [Fact]
    public async Task Stream_sends_the_reasoning_item_with_reasoning_text_deltas_then_the_message()
    {
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        using var response = await http.PostAsJsonAsync("/v1/responses", new { model = "kimi-thinking", input = Question, stream = true });
        var events = Sse.Parse(await response.Content.ReadAsStringAsync()).Select(f => JsonDocument.Parse(f.Data).RootElement.Clone()).ToList();
        var types = events.Select(e => e.GetProperty("type").GetString()!).ToList();
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.GetProperty("sequence_number").GetInt32()));

        // created, in_progress, then the reasoning item from added to done, then the message item.
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added", "response.reasoning_text.delta"], types.Take(4));
        int reasoningDone = types.IndexOf("response.reasoning_text.done");
        Assert.Equal("response.output_item.done", types[reasoningDone + 1]);
        Assert.All(types.Skip(3).Take(reasoningDone - 3), t => Assert.Equal("response.reasoning_text.delta", t));
        Assert.Equal(["response.output_item.added", "response.content_part.added"], types.Skip(reasoningDone + 2).Take(2));
        Assert.Equal("response.completed", types[^1]);

        var added = events[2].GetProperty("item");
        Assert.Equal(("reasoning", "in_progress"), (added.GetProperty("type").GetString(), added.GetProperty("status").GetString()));
        var itemId = added.GetProperty("id").GetString();
        var deltas = events.Where(e => e.GetProperty("type").GetString() == "response.reasoning_text.delta").ToList();
        Assert.All(deltas, d => Assert.Equal((itemId, 0, 0), (d.GetProperty("item_id").GetString(), d.GetProperty("output_index").GetInt32(), d.GetProperty("content_index").GetInt32())));
        Assert.Equal(Reasoning, string.Concat(deltas.Select(d => d.GetProperty("delta").GetString())));
        Assert.Equal(Reasoning, events[reasoningDone].GetProperty("text").GetString());
        var text = string.Concat(events.Where(e => e.GetProperty("type").GetString() == "response.output_text.delta").Select(e => e.GetProperty("delta").GetString()));
        Assert.Equal("The answer is 4.", text);
        var final = events[^1].GetProperty("response").GetProperty("output").EnumerateArray().Select(o => o.GetProperty("type").GetString());
        Assert.Equal(["reasoning", "message"], final);
    }

    [Fact]
    public async Task Codex_style_tool_loop_brings_the_reasoning_back_through_encrypted_content()
    {
        // Codex: store false, include reasoning.encrypted_content; it sends reasoning items back without their text.
        var first = await CreateAsync($$"""
            {"model":"kimi-thinking","store":false,"include":["reasoning.encrypted_content"],"tools":[{{WeatherTool}}],
             "input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Please think about the weather in Paris."}]}]}
            """);
        var output = first.GetProperty("output").EnumerateArray().ToList();
        Assert.Equal(["reasoning", "function_call"], output.Select(o => o.GetProperty("type").GetString()));
        var encrypted = output[0].GetProperty("encrypted_content").GetString()!;
        Assert.True(CarriedReasoning.TryDecode(encrypted, out var carried));
        Assert.Equal("I should check the weather.", carried);
        var callId = output[1].GetProperty("call_id").GetString();

        await CreateAsync($$"""
            {"model":"kimi-thinking","store":false,"include":["reasoning.encrypted_content"],"tools":[{{WeatherTool}}],
             "input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Please think about the weather in Paris."}]},
                      {"type":"reasoning","summary":[],"encrypted_content":"{{encrypted}}"},
                      {"type":"function_call","call_id":"{{callId}}","name":"get_weather","arguments":"{\"city\": \"Paris\"}"},
                      {"type":"function_call_output","call_id":"{{callId}}","output":"sunny"}]}
            """);
        Assert.Contains("<|im_assistant|>assistant<|im_middle|><think>I should check the weather.</think><|tool_calls_section_begin|>", fixture.Model.LastPrompt);
    }

    [Fact]
    public async Task Stored_response_carries_its_reasoning_into_the_follow_up()
    {
        var first = await CreateAsync($$"""{"model":"kimi-thinking","tools":[{{WeatherTool}}],"input":"Please think about the weather in Paris."}""");
        var call = first.GetProperty("output").EnumerateArray().Single(o => o.GetProperty("type").GetString() == "function_call");

        var second = await CreateAsync($$"""
            {"model":"kimi-thinking","tools":[{{WeatherTool}}],"previous_response_id":"{{first.GetProperty("id").GetString()}}",
             "input":[{"type":"function_call_output","call_id":"{{call.GetProperty("call_id").GetString()}}","output":"sunny"}]}
            """);
        Assert.Equal("completed", second.GetProperty("status").GetString());
        Assert.Contains("<think>I should check the weather.</think><|tool_calls_section_begin|>", fixture.Model.LastPrompt);
    }

    [Fact]
    public async Task Sdk_reads_the_reasoning_item_and_its_streamed_text()
    {
        var client = new ResponsesClient(new ApiKeyCredential("unused"), new ResponsesClientOptions
        {
            Endpoint = new Uri(fixture.Server.BaseAddress, "/v1"),
            RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
        });
        var options = new CreateResponseOptions { Model = "kimi-thinking" };
        options.InputItems.Add(ResponseItem.CreateUserMessageItem(Question));
        ResponseResult response = await client.CreateResponseAsync(options);
        Assert.IsType<ReasoningResponseItem>(response.OutputItems[0]);
        Assert.Equal("The answer is 4.", response.GetOutputText());

        options.StreamingEnabled = true;
        var thought = new StringBuilder();
        await foreach (var update in await client.CreateResponseStreamingAsync(options))
            if (update is StreamingResponseReasoningTextDeltaUpdate delta)
                thought.Append(delta.Delta);
        Assert.Equal(Reasoning, thought.ToString());
    }
}
