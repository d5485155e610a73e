using System.Net;
using System.Text;
using System.Text.Json;
using KimiSharp.Server.Tests.Support;

namespace KimiSharp.Server.Tests.Http;

/// <summary>The exact wire shapes: SSE framing, chunk order, utility endpoints, Claude Code's request quirks.</summary>
public sealed class WireFormatTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> PostAsync(string path, string json, Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        configure?.Invoke(request);
        var response = await fixture.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Fact]
    public async Task OpenAi_stream_is_role_chunk_deltas_finish_chunk_usage_chunk_then_done()
    {
        var (status, body, response) = await PostAsync("/v1/chat/completions",
            """{"model":"kimi","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"echo:abc"}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        var frames = Sse.Parse(body);
        Assert.All(frames, f => Assert.Null(f.Event));
        Assert.Equal("[DONE]", frames[^1].Data);
        var chunks = frames.SkipLast(1).Select(f => JsonDocument.Parse(f.Data).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());

        var first = chunks[0].GetProperty("choices")[0];
        Assert.Equal("assistant", first.GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("finish_reason").ValueKind);
        var text = string.Concat(chunks.Skip(1).SkipLast(2).Select(c => c.GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString()));
        Assert.Equal("abc", text);

        var finish = chunks[^2].GetProperty("choices")[0];
        Assert.Equal("stop", finish.GetProperty("finish_reason").GetString());
        Assert.Empty(finish.GetProperty("delta").EnumerateObject());

        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(4, usage.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task OpenAi_stream_without_include_usage_has_no_usage_chunk()
    {
        var (_, body, _) = await PostAsync("/v1/chat/completions", """{"model":"kimi","stream":true,"messages":[{"role":"user","content":"echo:ab"}]}""");
        var frames = Sse.Parse(body);
        Assert.DoesNotContain(frames.SkipLast(1), f => JsonDocument.Parse(f.Data).RootElement.TryGetProperty("usage", out _));
    }

    [Fact]
    public async Task Anthropic_stream_sends_named_events_with_ping_after_message_start()
    {
        var (status, body, _) = await PostAsync("/v1/messages?beta=true",
            """{"model":"kimi","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"echo:hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var frames = Sse.Parse(body);
        Assert.Equal(
            ["message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            frames.Select(f => f.Event!).ToList());
        foreach (var (name, data) in frames)
            Assert.Equal(name, JsonDocument.Parse(data).RootElement.GetProperty("type").GetString());
        var start = JsonDocument.Parse(frames[0].Data).RootElement.GetProperty("message");
        Assert.Equal(JsonValueKind.Null, start.GetProperty("stop_reason").ValueKind);
        Assert.Equal("kimi", start.GetProperty("model").GetString());
        var delta = JsonDocument.Parse(frames[6].Data).RootElement;
        Assert.Equal("end_turn", delta.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(3, delta.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task Claude_code_request_shape_is_accepted_and_temperature_is_scaled()
    {
        // What Claude Code sends: ?beta=true, x-api-key or Bearer, anthropic-version/beta headers, cache_control,
        // metadata, thinking and fields this server has never heard of.
        var json = """
        {"model":"claude-sonnet-4-5","max_tokens":32,"temperature":0.5,"metadata":{"user_id":"u"},"thinking":{"type":"disabled"},
         "context_management":{"edits":[]},"future_field":[1,2,3],
         "system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],
         "tools":[{"name":"Bash","description":"run","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}},
                  {"type":"web_search_20250305","name":"web_search","max_uses":5}],
         "messages":[{"role":"user","content":[{"type":"text","text":"echo:ok","cache_control":{"type":"ephemeral"}}]}]}
        """;
        var (status, body, _) = await PostAsync("/v1/messages?beta=true", json, r =>
        {
            r.Headers.Authorization = null;
            r.Headers.Add("x-api-key", ServerFixture.ApiKey);
            r.Headers.Add("anthropic-version", "2023-06-01");
            r.Headers.Add("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14");
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ok", JsonDocument.Parse(body).RootElement.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(0.3f, fixture.Backend.LastOptions!.Temperature, 5); // 0.5 × 0.6
        Assert.Equal("Bash", Assert.Single(fixture.Backend.LastChat!.Tools!).Name); // the server tool is not declared to the model

        await PostAsync("/v1/messages", """{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"echo:x"}]}""");
        Assert.Equal(0.6f, fixture.Backend.LastOptions!.Temperature, 5); // default 1.0 × 0.6
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"k","messages":[{"role":"user","content":"calls2:f {}"}],"tools":[{"type":"function","function":{"name":"f"}}]}""", 2)]
    [InlineData("/v1/chat/completions", """{"model":"k","parallel_tool_calls":false,"messages":[{"role":"user","content":"calls2:f {}"}],"tools":[{"type":"function","function":{"name":"f"}}]}""", 1)]
    [InlineData("/v1/messages", """{"model":"k","max_tokens":50,"messages":[{"role":"user","content":"calls2:f {}"}],"tools":[{"name":"f","input_schema":{}}]}""", 2)]
    [InlineData("/v1/messages", """{"model":"k","max_tokens":50,"tool_choice":{"type":"auto","disable_parallel_tool_use":true},"messages":[{"role":"user","content":"calls2:f {}"}],"tools":[{"name":"f","input_schema":{}}]}""", 1)]
    public async Task Parallel_tool_calls_can_be_limited_to_one(string path, string json, int expectedCalls)
    {
        var (status, body, _) = await PostAsync(path, json);
        Assert.Equal(HttpStatusCode.OK, status);
        var root = JsonDocument.Parse(body).RootElement;
        int calls = path == "/v1/messages"
            ? root.GetProperty("content").EnumerateArray().Count(b => b.GetProperty("type").GetString() == "tool_use")
            : root.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls").GetArrayLength();
        Assert.Equal(expectedCalls, calls);
    }

    [Fact]
    public async Task Models_lists_the_served_model()
    {
        var body = await fixture.Http.GetStringAsync("/v1/models");
        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal("list", root.GetProperty("object").GetString());
        var model = Assert.Single(root.GetProperty("data").EnumerateArray());
        Assert.Equal("kimi-test", model.GetProperty("id").GetString());
        Assert.Equal("model", model.GetProperty("object").GetString());
        Assert.Equal(2048, model.GetProperty("meta").GetProperty("n_ctx").GetInt32());
    }

    [Fact]
    public async Task Completions_return_raw_prompt_continuation_and_stream()
    {
        var (status, body, _) = await PostAsync("/v1/completions", """{"model":"kimi","prompt":"Once upon","max_tokens":9}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var choice = JsonDocument.Parse(body).RootElement.GetProperty("choices")[0];
        Assert.Equal("The quick", choice.GetProperty("text").GetString());
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());

        var (_, streamed, _) = await PostAsync("/v1/completions", """{"model":"kimi","prompt":[79,110,99,101],"max_tokens":3,"stream":true}""");
        var frames = Sse.Parse(streamed);
        Assert.Equal("[DONE]", frames[^1].Data);
        var text = string.Concat(frames.SkipLast(1).Select(f => JsonDocument.Parse(f.Data).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()));
        Assert.Equal("The", text);
    }

    [Fact]
    public async Task Tokenize_and_detokenize_round_trip()
    {
        var (_, body, _) = await PostAsync("/tokenize", """{"content":"Hé"}""");
        var tokens = JsonDocument.Parse(body).RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.Equal(Encoding.UTF8.GetBytes("Hé").Select(b => (int)b), tokens);

        var (_, pieces, _) = await PostAsync("/tokenize", """{"content":"ab","with_pieces":true}""");
        var first = JsonDocument.Parse(pieces).RootElement.GetProperty("tokens")[0];
        Assert.Equal(97, first.GetProperty("id").GetInt32());
        Assert.Equal("a", first.GetProperty("piece").GetString());

        var (_, text, _) = await PostAsync("/detokenize", $$"""{"tokens":[{{string.Join(",", tokens)}}]}""");
        Assert.Equal("Hé", JsonDocument.Parse(text).RootElement.GetProperty("content").GetString());
    }

    [Fact]
    public async Task Health_is_public_and_metrics_count_requests_and_tokens()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.BaseAddress };
        var health = await anonymous.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok", JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);

        await PostAsync("/v1/chat/completions", """{"model":"kimi","messages":[{"role":"user","content":"echo:count me"}]}""");
        var metrics = await fixture.Http.GetStringAsync("/metrics");
        Assert.Contains("# TYPE kimi_requests_total counter", metrics);
        Assert.Matches("kimi_requests_total\\{route=\"/v1/chat/completions\",status=\"200\"\\} [1-9]", metrics);
        Assert.Matches("kimi_generated_tokens_total [1-9]", metrics);
        Assert.Matches("kimi_prompt_tokens_total [1-9]", metrics);
        Assert.Contains("kimi_queue_depth 0", metrics);
        Assert.Contains("kimi_requests_in_flight ", metrics);
        Assert.Contains("kimi_generated_tokens_per_second ", metrics);
    }
}
