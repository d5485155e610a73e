using System.Net;
using System.Text;
using System.Text.Json;
using KimiSharp.Server.Tests.Support;

namespace KimiSharp.Server.Tests.OpenAi;

/// <summary>POST/GET/DELETE /v1/responses on the wire: the response object, the full event stream, the store.</summary>
public sealed class ResponsesWireTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string NamespaceTools = """
        [{"type":"namespace","name":"multi_agent_v1","description":"Sub-agents","tools":[{"type":"function","name":"close_agent","parameters":{"type":"object","properties":{"target":{"type":"string"}}}}]},
         {"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}},
         {"type":"web_search","external_web_access":false}]
        """;

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await fixture.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> CreateAsync(string json)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/v1/responses", json);
        Assert.True(status == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>Streams a response; checks that every frame is named by its type and numbered in order.</summary>
    private async Task<List<JsonElement>> StreamAsync(string json)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/v1/responses", json);
        Assert.True(status == HttpStatusCode.OK, body);
        var frames = Sse.Parse(body);
        var events = frames.Select(f => JsonDocument.Parse(f.Data).RootElement).ToList();
        for (int i = 0; i < events.Count; i++)
        {
            Assert.Equal(frames[i].Event, events[i].GetProperty("type").GetString());
            Assert.Equal(i, events[i].GetProperty("sequence_number").GetInt32());
        }

        return events;
    }

    private static List<string> Types(List<JsonElement> events) => events.Select(e => e.GetProperty("type").GetString()!).ToList();

    [Fact]
    public async Task Response_object_has_the_message_status_and_usage()
    {
        var response = await CreateAsync("""{"model":"kimi","instructions":"Be brief.","input":"echo:Hi there","metadata":{"k":"v"}}""");

        Assert.Equal("response", response.GetProperty("object").GetString());
        Assert.StartsWith("resp_", response.GetProperty("id").GetString());
        Assert.Equal("completed", response.GetProperty("status").GetString());
        Assert.Equal("kimi", response.GetProperty("model").GetString());
        Assert.Equal("Be brief.", response.GetProperty("instructions").GetString());
        Assert.Equal(JsonValueKind.Null, response.GetProperty("error").ValueKind);
        Assert.Equal(JsonValueKind.Null, response.GetProperty("incomplete_details").ValueKind);
        Assert.Equal("v", response.GetProperty("metadata").GetProperty("k").GetString());
        var message = Assert.Single(response.GetProperty("output").EnumerateArray());
        Assert.Equal(("message", "assistant", "completed"), (message.GetProperty("type").GetString(), message.GetProperty("role").GetString(), message.GetProperty("status").GetString()));
        Assert.StartsWith("msg_", message.GetProperty("id").GetString());
        var part = Assert.Single(message.GetProperty("content").EnumerateArray());
        Assert.Equal(("output_text", "Hi there"), (part.GetProperty("type").GetString(), part.GetProperty("text").GetString()));
        Assert.Equal(0, part.GetProperty("annotations").GetArrayLength());

        var usage = response.GetProperty("usage");
        int input = Encoding.UTF8.GetByteCount("system: Be brief.\nuser: echo:Hi there\n");
        Assert.Equal(input, usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(9, usage.GetProperty("output_tokens").GetInt32()); // 8 characters + end of turn
        Assert.Equal(0, usage.GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.Equal(input + 9, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Text_stream_is_the_full_event_sequence_with_sequence_numbers()
    {
        var events = await StreamAsync("""{"input":"echo:abc","stream":true,"store":false}""");

        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            "response.output_text.delta", "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
            "response.content_part.done", "response.output_item.done", "response.completed"], Types(events));
        Assert.Equal("in_progress", events[0].GetProperty("response").GetProperty("status").GetString());
        Assert.Equal(0, events[0].GetProperty("response").GetProperty("output").GetArrayLength());
        var itemId = events[2].GetProperty("item").GetProperty("id").GetString();
        Assert.Equal("in_progress", events[2].GetProperty("item").GetProperty("status").GetString());
        Assert.All(events.Skip(3).Take(7), e => Assert.Equal(itemId, e.TryGetProperty("item_id", out var id) ? id.GetString() : e.GetProperty("item").GetProperty("id").GetString()));
        Assert.Equal("abc", string.Concat(events.Where(e => e.GetProperty("type").GetString() == "response.output_text.delta").Select(e => e.GetProperty("delta").GetString())));
        Assert.Equal("abc", events[7].GetProperty("text").GetString());
        Assert.Equal("abc", events[8].GetProperty("part").GetProperty("text").GetString());

        var completed = events[^1].GetProperty("response");
        Assert.Equal("completed", completed.GetProperty("status").GetString());
        Assert.False(completed.GetProperty("store").GetBoolean());
        Assert.Equal("abc", completed.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(4, completed.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(0, completed.GetProperty("usage").GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32());
    }

    [Fact]
    public async Task Namespaced_tool_call_streams_as_function_call_with_name_and_namespace()
    {
        var events = await StreamAsync($$"""{"input":"call:multi_agent_v1__close_agent {\"target\":\"agent-7\"}","stream":true,"tools":{{NamespaceTools}}}""");

        var types = Types(events);
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added"], types.Take(3));
        Assert.Equal(["response.function_call_arguments.done", "response.output_item.done", "response.completed"], types.TakeLast(3));
        Assert.All(types.Skip(3).SkipLast(3), t => Assert.Equal("response.function_call_arguments.delta", t));

        var added = events[2].GetProperty("item");
        Assert.Equal(("function_call", "in_progress", "close_agent", "multi_agent_v1"),
            (added.GetProperty("type").GetString(), added.GetProperty("status").GetString(), added.GetProperty("name").GetString(), added.GetProperty("namespace").GetString()));
        Assert.StartsWith("call_", added.GetProperty("call_id").GetString());
        var arguments = string.Concat(events.Skip(3).SkipLast(3).Select(e => e.GetProperty("delta").GetString()));
        Assert.Equal("""{"target":"agent-7"}""", arguments);
        Assert.Equal(arguments, events[^3].GetProperty("arguments").GetString());
        Assert.Equal("close_agent", events[^3].GetProperty("name").GetString());

        var done = events[^2].GetProperty("item");
        Assert.Equal(("completed", arguments), (done.GetProperty("status").GetString(), done.GetProperty("arguments").GetString()));
        var call = Assert.Single(events[^1].GetProperty("response").GetProperty("output").EnumerateArray());
        Assert.Equal(added.GetProperty("call_id").GetString(), call.GetProperty("call_id").GetString());
        Assert.Equal("multi_agent_v1", call.GetProperty("namespace").GetString());
    }

    [Fact]
    public async Task Plain_function_call_has_no_namespace_and_two_calls_are_two_items()
    {
        var response = await CreateAsync($$"""{"input":"calls2:get_weather {\"city\":\"Paris\"}","tools":{{NamespaceTools}}}""");
        var calls = response.GetProperty("output").EnumerateArray().ToList();
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.False(c.TryGetProperty("namespace", out _)));
        Assert.All(calls, c => Assert.Equal("get_weather", c.GetProperty("name").GetString()));
        Assert.NotEqual(calls[0].GetProperty("call_id").GetString(), calls[1].GetProperty("call_id").GetString());
        Assert.NotEqual(calls[0].GetProperty("id").GetString(), calls[1].GetProperty("id").GetString());
    }

    [Fact]
    public async Task Logprobs_come_with_the_text_when_include_asks_for_them()
    {
        var response = await CreateAsync("""{"input":"echo:hey","include":["message.output_text.logprobs"],"top_logprobs":2}""");
        var logprobs = response.GetProperty("output")[0].GetProperty("content")[0].GetProperty("logprobs").EnumerateArray().ToList();
        Assert.Equal(["h", "e", "y"], logprobs.Select(l => l.GetProperty("token").GetString()));
        Assert.All(logprobs, l => Assert.Equal(-0.5f, l.GetProperty("logprob").GetSingle()));
        Assert.Equal([(int)'h'], logprobs[0].GetProperty("bytes").EnumerateArray().Select(b => b.GetInt32()));
        Assert.Equal(["t0", "t1"], logprobs[0].GetProperty("top_logprobs").EnumerateArray().Select(t => t.GetProperty("token").GetString()));

        var events = await StreamAsync("""{"input":"echo:hey","include":["message.output_text.logprobs"],"stream":true}""");
        var deltas = events.Where(e => e.GetProperty("type").GetString() == "response.output_text.delta").ToList();
        Assert.All(deltas, d => Assert.Equal(d.GetProperty("delta").GetString(), Assert.Single(d.GetProperty("logprobs").EnumerateArray()).GetProperty("token").GetString()));
        Assert.Equal(3, events.Single(e => e.GetProperty("type").GetString() == "response.output_text.done").GetProperty("logprobs").GetArrayLength());

        var plain = await CreateAsync("""{"input":"echo:hey"}""");
        Assert.Equal(0, plain.GetProperty("output")[0].GetProperty("content")[0].GetProperty("logprobs").GetArrayLength());
    }

    [Fact]
    public async Task Max_output_tokens_ends_the_response_incomplete()
    {
        var response = await CreateAsync("""{"input":"echo:abcdefgh","max_output_tokens":3}""");
        Assert.Equal("incomplete", response.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", response.GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal("abc", response.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("incomplete", response.GetProperty("output")[0].GetProperty("status").GetString());

        var events = await StreamAsync("""{"input":"echo:abcdefgh","max_output_tokens":3,"stream":true}""");
        Assert.Equal("response.incomplete", events[^1].GetProperty("type").GetString());
        Assert.Equal("max_output_tokens", events[^1].GetProperty("response").GetProperty("incomplete_details").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Max_output_tokens_larger_than_the_context_is_clamped_to_what_is_left()
    {
        await CreateAsync("""{"input":"echo:x","max_output_tokens":128000}""");
        int prompt = Encoding.UTF8.GetByteCount("user: echo:x\n");
        Assert.Equal(fixture.Backend.Model.ContextLength - prompt, fixture.Backend.LastOptions!.MaxTokens);
    }

    [Fact]
    public async Task Stored_response_continues_with_previous_response_id_and_can_be_read_and_deleted()
    {
        var first = await CreateAsync("""{"instructions":"Only for the first.","input":"echo:first answer"}""");
        var id = first.GetProperty("id").GetString()!;
        Assert.True(first.GetProperty("store").GetBoolean());

        var second = await CreateAsync($$"""{"previous_response_id":"{{id}}","input":"echo:again"}""");
        Assert.Equal(id, second.GetProperty("previous_response_id").GetString());
        var seen = fixture.Backend.LastChat!.Messages;
        Assert.Equal([("user", "echo:first answer"), ("assistant", "first answer"), ("user", "echo:again")], seen.Select(m => (m.Role, m.Content)));

        var (status, body) = await SendAsync(HttpMethod.Get, $"/v1/responses/{id}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(first.GetRawText(), JsonDocument.Parse(body).RootElement.GetRawText());

        (status, body) = await SendAsync(HttpMethod.Delete, $"/v1/responses/{id}");
        Assert.Equal(HttpStatusCode.OK, status);
        var deleted = JsonDocument.Parse(body).RootElement;
        Assert.Equal((id, "response.deleted", true), (deleted.GetProperty("id").GetString(), deleted.GetProperty("object").GetString(), deleted.GetProperty("deleted").GetBoolean()));
        (status, _) = await SendAsync(HttpMethod.Get, $"/v1/responses/{id}");
        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task Tool_loop_continues_from_a_stored_call_with_its_output()
    {
        var first = await CreateAsync($$"""{"input":"call:get_weather {\"city\":\"Paris\"}","tools":{{NamespaceTools}}}""");
        var call = first.GetProperty("output")[0];
        var callId = call.GetProperty("call_id").GetString();

        var second = await CreateAsync($$"""
            {"previous_response_id":"{{first.GetProperty("id").GetString()}}","tools":{{NamespaceTools}},
             "input":[{"type":"function_call_output","call_id":"{{callId}}","output":"sunny, 24°C"}]}
            """);
        Assert.Equal("Result: sunny, 24°C", second.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        var tool = fixture.Backend.LastChat!.Messages[^1];
        Assert.Equal(("tool", callId, "get_weather"), (tool.Role, tool.ToolCallId, tool.Name));
        Assert.Equal("""{"city":"Paris"}""", Assert.Single(fixture.Backend.LastChat.Messages[^2].ToolCalls!).Arguments);
    }

    [Fact]
    public async Task Unknown_or_unstored_previous_response_is_404_in_openai_error_shape()
    {
        var unstored = await CreateAsync("""{"input":"echo:x","store":false}""");
        foreach (var id in new[] { "resp_missing", unstored.GetProperty("id").GetString()! })
        {
            var (status, body) = await SendAsync(HttpMethod.Post, "/v1/responses", $$"""{"previous_response_id":"{{id}}","input":"hi"}""");
            Assert.Equal(HttpStatusCode.NotFound, status);
            var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
            Assert.Equal(("not_found_error", "previous_response_id", "response_not_found"),
                (error.GetProperty("type").GetString(), error.GetProperty("param").GetString(), error.GetProperty("code").GetString()));
            Assert.Contains(id, error.GetProperty("message").GetString());
        }

        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Delete, "/v1/responses/resp_missing")).Status);
    }

    [Fact]
    public async Task Prompt_longer_than_the_context_is_400_with_both_counts()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/v1/responses", $$"""{"input":"{{new string('x', 3000)}}"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(("input", "context_length_exceeded"), (error.GetProperty("param").GetString(), error.GetProperty("code").GetString()));
        Assert.Contains($"{Encoding.UTF8.GetByteCount("user: \n") + 3000} tokens", error.GetProperty("message").GetString());
        Assert.Contains($"holds {fixture.Backend.Model.ContextLength}", error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("""{"input":"x","max_output_tokens":"many"}""", "max_output_tokens")]
    [InlineData("""{"input":[{"role":"robot","content":"x"}]}""", "input[0].role")]
    [InlineData("""{"input":"x","tool_choice":"required"}""", "tool_choice")]
    public async Task Bad_request_is_400_naming_the_field(string json, string param)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/v1/responses", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(("invalid_request_error", param), (error.GetProperty("type").GetString(), error.GetProperty("param").GetString()));
    }
}
