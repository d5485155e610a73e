using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using KimiSharp.Server.Tests.Support;

namespace KimiSharp.Server.Tests.Ollama;

/// <summary>Ollama's exact wire shapes over raw HTTP: NDJSON lines, the final statistics, errors as {"error": …}.</summary>
public sealed class OllamaWireTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string[] FinalFields =
        ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"];

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> PostAsync(string path, string json, HttpClient? http = null)
    {
        var response = await (http ?? fixture.Http).PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    private static List<JsonElement> Lines(string body)
    {
        Assert.EndsWith("\n", body);
        return body.TrimEnd('\n').Split('\n').Select(line => JsonDocument.Parse(line).RootElement).ToList();
    }

    /// <summary>The body is exactly {"error": "…"} and the message mentions <paramref name="expected"/>.</summary>
    private static void AssertError(string body, string expected)
    {
        var root = JsonDocument.Parse(body).RootElement;
        var property = Assert.Single(root.EnumerateObject());
        Assert.Equal("error", property.Name);
        Assert.Contains(expected, property.Value.GetString());
    }

    [Fact]
    public async Task Chat_streams_ndjson_lines_ending_with_done_and_statistics()
    {
        var (status, body, response) = await PostAsync("/api/chat", """{"model":"kimi-test","messages":[{"role":"user","content":"echo:abc"}]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = Lines(body);
        Assert.Equal(4, lines.Count); // a, b, c, done
        foreach (var line in lines.SkipLast(1))
        {
            Assert.False(line.GetProperty("done").GetBoolean());
            Assert.Equal("assistant", line.GetProperty("message").GetProperty("role").GetString());
            Assert.Equal("kimi-test", line.GetProperty("model").GetString());
            Assert.True(DateTimeOffset.TryParse(line.GetProperty("created_at").GetString(), out _));
            Assert.False(line.TryGetProperty("eval_count", out _));
        }

        Assert.Equal("abc", string.Concat(lines.SkipLast(1).Select(l => l.GetProperty("message").GetProperty("content").GetString())));
        var last = lines[^1];
        Assert.True(last.GetProperty("done").GetBoolean());
        Assert.Equal("stop", last.GetProperty("done_reason").GetString());
        Assert.Equal("", last.GetProperty("message").GetProperty("content").GetString());
        foreach (var field in FinalFields)
            Assert.Equal(JsonValueKind.Number, last.GetProperty(field).ValueKind);
        Assert.Equal(4, last.GetProperty("eval_count").GetInt32());
        Assert.Equal(1_000_000, last.GetProperty("prompt_eval_duration").GetInt64()); // the backend's 1.0 ms, in nanoseconds
        Assert.Equal(4_000_000, last.GetProperty("eval_duration").GetInt64());
        Assert.True(last.GetProperty("total_duration").GetInt64() > 0);
    }

    [Fact]
    public async Task Generate_without_streaming_is_one_json_object_with_response()
    {
        var (status, body, response) = await PostAsync("/api/generate", """{"model":"KIMI-TEST:latest","prompt":"echo:xyz","stream":false,"keep_alive":"5m","think":false}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var root = JsonDocument.Parse(body).RootElement;
        Assert.Equal("xyz", root.GetProperty("response").GetString());
        Assert.Equal("KIMI-TEST:latest", root.GetProperty("model").GetString()); // the name asked for, as Ollama echoes it
        Assert.True(root.GetProperty("done").GetBoolean());
        Assert.False(root.TryGetProperty("message", out _));
        foreach (var field in FinalFields)
            Assert.Equal(JsonValueKind.Number, root.GetProperty(field).ValueKind);
    }

    [Fact]
    public async Task Streamed_tool_call_is_one_line_with_an_arguments_object()
    {
        var (_, body, _) = await PostAsync("/api/chat", """
            {"model":"kimi-test","messages":[{"role":"user","content":"calls2:lookup {\"q\":\"kimi\"}"}],
             "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}]}
            """);

        var lines = Lines(body);
        var calls = lines.Where(l => l.GetProperty("message").TryGetProperty("tool_calls", out _)).ToList();
        Assert.Equal(2, calls.Count); // each call whole in its own line, as soon as it is complete
        for (int i = 0; i < 2; i++)
        {
            var call = Assert.Single(calls[i].GetProperty("message").GetProperty("tool_calls").EnumerateArray());
            var function = call.GetProperty("function");
            Assert.Equal(i, function.GetProperty("index").GetInt32());
            Assert.Equal("lookup", function.GetProperty("name").GetString());
            Assert.Equal("kimi", function.GetProperty("arguments").GetProperty("q").GetString());
        }

        Assert.True(lines[^1].GetProperty("done").GetBoolean());
    }

    [Fact]
    public async Task Empty_chat_or_prompt_loads_the_model_and_keep_alive_zero_reports_unload()
    {
        var (_, chat, _) = await PostAsync("/api/chat", """{"model":"kimi-test","messages":[]}""");
        var root = JsonDocument.Parse(chat).RootElement;
        Assert.Equal("load", root.GetProperty("done_reason").GetString());
        Assert.Equal("", root.GetProperty("message").GetProperty("content").GetString());

        var (_, generate, _) = await PostAsync("/api/generate", """{"model":"kimi-test","keep_alive":0}""");
        Assert.Equal("unload", JsonDocument.Parse(generate).RootElement.GetProperty("done_reason").GetString());
    }

    public static TheoryData<string, string, HttpStatusCode, string> BadRequests => new()
    {
        { "/api/chat", """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", HttpStatusCode.NotFound, "model 'gpt-4o' not found" },
        { "/api/show", """{"model":"gpt-4o"}""", HttpStatusCode.NotFound, "kimi-test:latest" },
        { "/api/chat", """{"messages":[{"role":"user","content":"hi"}]}""", HttpStatusCode.BadRequest, "model" },
        { "/api/chat", """{"model":"kimi-test","messages":[{"role":"robot","content":"hi"}]}""", HttpStatusCode.BadRequest, "messages[0].role" },
        { "/api/chat", """{"model":"kimi-test","messages":[{"role":"tool","content":"42"}]}""", HttpStatusCode.BadRequest, "tool result" },
        { "/api/chat", """{"model":"kimi-test","messages":[{"role":"user","content":"hi","images":["aGk="]}]}""", HttpStatusCode.BadRequest, "images" },
        { "/api/chat", """{"model":"kimi-test","messages":[{"role":"user","content":"hi"}],"options":{"temperature":9}}""", HttpStatusCode.BadRequest, "options.temperature" },
        { "/api/chat", """{"model":"kimi-test","messages":[{"role":"user","content":"hi"}],"options":{"top_k":"many"}}""", HttpStatusCode.BadRequest, "options.top_k" },
        { "/api/chat", """{"model":"kimi-test","messages":[{"role":"user","content":"hi"}],"format":42}""", HttpStatusCode.BadRequest, "format" },
        { "/api/chat", """{"model":"kimi-test","messages":[{"role":"user","content":"hi"}],"think":"deeply"}""", HttpStatusCode.BadRequest, "think" },
        { "/api/chat", """{"model":"kimi-test","messages":[{"role":"user","content":"hi"}],"tools":[{"function":{"name":"bad name!"}}]}""", HttpStatusCode.BadRequest, "tools[0].function.name" },
        { "/api/generate", """{"model":"kimi-test","prompt":"def f(","suffix":"return 1"}""", HttpStatusCode.BadRequest, "suffix" },
        { "/api/generate", """{"model":"kimi-test","prompt":"hi","template":"{{ .Prompt }}"}""", HttpStatusCode.BadRequest, "template" },
        { "/api/generate", """{"model":"kimi-test","prompt":"hi","context":[1,2,3]}""", HttpStatusCode.BadRequest, "context" },
        { "/api/generate", """{"model":"kimi-test","prompt":""", HttpStatusCode.BadRequest, "not valid JSON" },
        { "/api/pull", """{"model":"llama3.2"}""", HttpStatusCode.NotFound, "no route" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_get_ollama_error_shape_and_status(string path, string json, HttpStatusCode expected, string mentions)
    {
        var (status, body, response) = await PostAsync(path, json);
        Assert.Equal(expected, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        AssertError(body, mentions);
    }

    [Fact]
    public async Task Api_key_is_required_as_bearer_and_refusal_is_in_ollama_shape()
    {
        using var anonymous = new HttpClient { BaseAddress = fixture.BaseAddress };
        var tags = await anonymous.GetAsync("/api/tags");
        Assert.Equal(HttpStatusCode.Unauthorized, tags.StatusCode);
        AssertError(await tags.Content.ReadAsStringAsync(), "API key");

        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServerFixture.ApiKey);
        var version = JsonDocument.Parse(await anonymous.GetStringAsync("/api/version")).RootElement;
        Assert.Matches(@"^\d+\.\d+\.\d+$", version.GetProperty("version").GetString());
    }

    [Fact]
    public async Task A_model_still_loading_is_503_in_ollama_shape_and_not_running()
    {
        fixture.Backend.State = Backend.BackendState.Loading;
        try
        {
            var (status, body, _) = await PostAsync("/api/chat", """{"model":"kimi-test","messages":[{"role":"user","content":"hi"}]}""");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            AssertError(body, "loading");
            var ps = JsonDocument.Parse(await fixture.Http.GetStringAsync("/api/ps")).RootElement;
            Assert.Equal(0, ps.GetProperty("models").GetArrayLength());
        }
        finally
        {
            fixture.Backend.State = Backend.BackendState.Ready;
        }
    }
}
