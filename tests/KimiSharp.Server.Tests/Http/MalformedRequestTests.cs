using System.Net;
using System.Text;
using System.Text.Json;
using KimiSharp.Server.Tests.Support;

namespace KimiSharp.Server.Tests.Http;

/// <summary>
/// Malformed requests over raw HTTP: each gets the right status and its API's error JSON (naming the
/// field where there is one), never a stack trace, and the server keeps serving afterwards.
/// </summary>
public sealed class MalformedRequestTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Chat = "/v1/chat/completions";
    private const string Messages = "/v1/messages";
    private const string User = """[{"role":"user","content":"hi"}]""";

    private sealed record Case(string Method, string Path, byte[]? Body, HttpStatusCode Status, string? Param = null, string? Contains = null, string? Key = ServerFixture.ApiKey, bool XApiKey = false);

    private static Case OpenAi(string json, string? param, HttpStatusCode status = HttpStatusCode.BadRequest, string path = Chat, string? Contains = null) =>
        new("POST", path, Encoding.UTF8.GetBytes(json), status, param, Contains);

    private static Case Anthropic(string json, string? param, HttpStatusCode status = HttpStatusCode.BadRequest, string path = Messages, string? Contains = null) =>
        new("POST", path, Encoding.UTF8.GetBytes(json), status, param, Contains, XApiKey: true);

    private static string ChatBody(string extra, string messages = User) => $$"""{"model":"kimi","messages":{{messages}}{{extra}}}""";

    private static string MessagesBody(string extra, string messages = User) => $$"""{"model":"kimi","max_tokens":16,"messages":{{messages}}{{extra}}}""";

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // Body-level problems (OpenAI routes).
        ["truncated json"] = OpenAi("""{"model":"kimi","messages":[{"role":"user","content":"hi"}""", null),
        ["empty body"] = OpenAi("", null),
        ["not json"] = OpenAi("hello there", null),
        ["array root"] = OpenAi("[]", null),
        ["null root"] = OpenAi("null", null),
        ["string root"] = OpenAi("\"x\"", null),
        ["trailing garbage"] = OpenAi(ChatBody("") + "}", null),
        ["invalid utf8"] = new("POST", Chat, [.. Encoding.UTF8.GetBytes("""{"model":"kimi","messages":[{"role":"user","content":"a"""), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes("\"}]}")], HttpStatusCode.BadRequest, Contains: "UTF-8"),
        ["lone surrogate"] = OpenAi(ChatBody("", """[{"role":"user","content":"\ud800"}]"""), "messages[0].content"),
        ["deep nesting"] = OpenAi("{\"model\":" + new string('[', 200) + new string(']', 200) + "}", null),
        ["comment in json"] = OpenAi("{/* hi */\"model\":\"kimi\"}", null),
        // messages
        ["messages missing"] = OpenAi("""{"model":"kimi"}""", "messages"),
        ["messages empty"] = OpenAi(ChatBody("", "[]"), "messages"),
        ["messages not array"] = OpenAi(ChatBody("", "\"hi\""), "messages"),
        ["message is number"] = OpenAi(ChatBody("", "[1]"), "messages[0]"),
        ["message is null"] = OpenAi(ChatBody("", "[null]"), "messages[0]"),
        ["role missing"] = OpenAi(ChatBody("", """[{"content":"hi"}]"""), "messages[0].role"),
        ["unknown role"] = OpenAi(ChatBody("", """[{"role":"wizard","content":"hi"}]"""), "messages[0].role"),
        ["role is number"] = OpenAi(ChatBody("", """[{"role":5,"content":"hi"}]"""), "messages[0].role"),
        ["content is number"] = OpenAi(ChatBody("", """[{"role":"user","content":42}]"""), "messages[0].content"),
        ["content is object"] = OpenAi(ChatBody("", """[{"role":"user","content":{"text":"hi"}}]"""), "messages[0].content"),
        ["user content missing"] = OpenAi(ChatBody("", """[{"role":"user"}]"""), "messages[0].content"),
        ["unknown part type"] = OpenAi(ChatBody("", """[{"role":"user","content":[{"type":"hologram"}]}]"""), "messages[0].content[0].type"),
        ["image part"] = OpenAi(ChatBody("", """[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]"""), "messages[0].content[0].type"),
        ["part without text"] = OpenAi(ChatBody("", """[{"role":"user","content":[{"type":"text"}]}]"""), "messages[0].content[0].text"),
        ["tool result without call"] = OpenAi(ChatBody("", """[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_1","content":"42"}]"""), "messages[1].tool_call_id"),
        ["tool result without id"] = OpenAi(ChatBody("", """[{"role":"tool","content":"42"}]"""), "messages[0].tool_call_id"),
        ["empty assistant"] = OpenAi(ChatBody("", """[{"role":"assistant"}]"""), "messages[0].content"),
        ["tool call without function"] = OpenAi(ChatBody("", """[{"role":"assistant","tool_calls":[{"id":"c1","type":"function"}]}]"""), "messages[0].tool_calls[0].function"),
        ["tool call without id"] = OpenAi(ChatBody("", """[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]"""), "messages[0].tool_calls[0].id"),
        ["tool calls on user"] = OpenAi(ChatBody("", """[{"role":"user","content":"x","tool_calls":[]}]"""), "messages[0].tool_calls"),
        // numbers and ranges
        ["max_tokens zero"] = OpenAi(ChatBody(""","max_tokens":0"""), "max_tokens"),
        ["max_tokens negative"] = OpenAi(ChatBody(""","max_tokens":-5"""), "max_tokens"),
        ["max_tokens huge"] = OpenAi(ChatBody(""","max_tokens":1e30"""), "max_tokens"),
        ["max_tokens string"] = OpenAi(ChatBody(""","max_tokens":"10" """), "max_tokens"),
        ["max_tokens fraction"] = OpenAi(ChatBody(""","max_tokens":1.5"""), "max_tokens"),
        ["temperature too high"] = OpenAi(ChatBody(""","temperature":5"""), "temperature"),
        ["temperature string"] = OpenAi(ChatBody(""","temperature":"hot" """), "temperature"),
        ["temperature overflow"] = OpenAi(ChatBody(""","temperature":1e400"""), "temperature"),
        ["top_p negative"] = OpenAi(ChatBody(""","top_p":-0.1"""), "top_p"),
        ["frequency_penalty too high"] = OpenAi(ChatBody(""","frequency_penalty":3"""), "frequency_penalty"),
        ["n two"] = OpenAi(ChatBody(""","n":2"""), "n"),
        ["seed fraction"] = OpenAi(ChatBody(""","seed":0.5"""), "seed"),
        ["stream string"] = OpenAi(ChatBody(""","stream":"yes" """), "stream"),
        ["stop number"] = OpenAi(ChatBody(""","stop":5"""), "stop"),
        ["stop empty string"] = OpenAi(ChatBody(""","stop":[""]"""), "stop"),
        ["stop too many"] = OpenAi(ChatBody(""","stop":[""" + string.Join(",", Enumerable.Range(0, 20).Select(i => $"\"s{i}\"")) + "]"), "stop"),
        ["top_logprobs too many"] = OpenAi(ChatBody(""","logprobs":true,"top_logprobs":30"""), "top_logprobs"),
        ["top_logprobs without logprobs"] = OpenAi(ChatBody(""","top_logprobs":2"""), "top_logprobs"),
        ["logit_bias bad key"] = OpenAi(ChatBody(""","logit_bias":{"abc":1}"""), "logit_bias.abc"),
        ["logit_bias out of range"] = OpenAi(ChatBody(""","logit_bias":{"1":500}"""), "logit_bias.1"),
        ["response_format unknown"] = OpenAi(ChatBody(""","response_format":{"type":"xml"}"""), "response_format.type"),
        ["json_schema without name"] = OpenAi(ChatBody(""","response_format":{"type":"json_schema","json_schema":{"schema":{}}}"""), "response_format.json_schema.name"),
        // tools
        ["tools not array"] = OpenAi(ChatBody(""","tools":{}"""), "tools"),
        ["tool type wrong"] = OpenAi(ChatBody(""","tools":[{"type":"retrieval"}]"""), "tools[0].type"),
        ["tool name missing"] = OpenAi(ChatBody(""","tools":[{"type":"function","function":{}}]"""), "tools[0].function.name"),
        ["tool name with spaces"] = OpenAi(ChatBody(""","tools":[{"type":"function","function":{"name":"get weather"}}]"""), "tools[0].function.name"),
        ["tool declared twice"] = OpenAi(ChatBody(""","tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]"""), "tools[1].function.name"),
        ["tool parameters not object"] = OpenAi(ChatBody(""","tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]"""), "tools[0].function.parameters"),
        ["tool_choice unknown"] = OpenAi(ChatBody(""","tool_choice":"sometimes" """), "tool_choice"),
        ["tool_choice required without tools"] = OpenAi(ChatBody(""","tool_choice":"required" """), "tool_choice"),
        ["tool_choice undeclared"] = OpenAi(ChatBody(""","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}"""), "tool_choice.function.name"),
        // context, size, routing
        ["prompt longer than context"] = OpenAi(ChatBody("", $$"""[{"role":"user","content":"{{new string('x', 3000)}}"}]"""), "messages", Contains: "context holds 2048"),
        ["oversized body"] = new("POST", Chat, Encoding.UTF8.GetBytes(ChatBody("", $$"""[{"role":"user","content":"{{new string('x', 300 * 1024)}}"}]""")), HttpStatusCode.RequestEntityTooLarge),
        ["wrong method"] = new("GET", Chat, null, HttpStatusCode.MethodNotAllowed),
        ["unknown route"] = new("POST", "/v1/nope", Encoding.UTF8.GetBytes("{}"), HttpStatusCode.NotFound),
        ["missing key"] = new("POST", Chat, Encoding.UTF8.GetBytes(ChatBody("")), HttpStatusCode.Unauthorized, Key: null),
        ["wrong key"] = new("POST", Chat, Encoding.UTF8.GetBytes(ChatBody("")), HttpStatusCode.Unauthorized, Key: "sk-test-7f3b"),
        // completions, tokenize, detokenize
        ["completion prompt missing"] = OpenAi("""{"model":"kimi"}""", "prompt", path: "/v1/completions"),
        ["completion prompt bad token"] = OpenAi("""{"model":"kimi","prompt":[1,999]}""", "prompt[1]", path: "/v1/completions"),
        ["completion prompt object"] = OpenAi("""{"model":"kimi","prompt":{"a":1}}""", "prompt", path: "/v1/completions"),
        ["completion echo"] = OpenAi("""{"model":"kimi","prompt":"x","echo":true}""", "echo", path: "/v1/completions"),
        ["tokenize without content"] = OpenAi("{}", "content", path: "/tokenize"),
        ["detokenize string token"] = OpenAi("""{"tokens":["a"]}""", "tokens[0]", path: "/detokenize"),
        ["detokenize out of vocabulary"] = OpenAi("""{"tokens":[1,999]}""", "tokens[1]", path: "/detokenize"),
        // Anthropic routes
        ["anthropic truncated json"] = Anthropic("""{"model":"kimi","max_tokens":1""", null),
        ["anthropic invalid utf8"] = new("POST", Messages, [(byte)'{', 0xC3, 0x28, (byte)'}'], HttpStatusCode.BadRequest, XApiKey: true),
        ["anthropic model missing"] = Anthropic("""{"max_tokens":16,"messages":[{"role":"user","content":"hi"}]}""", "model"),
        ["anthropic max_tokens missing"] = Anthropic("""{"model":"kimi","messages":[{"role":"user","content":"hi"}]}""", "max_tokens"),
        ["anthropic max_tokens zero"] = Anthropic("""{"model":"kimi","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}""", "max_tokens"),
        ["anthropic system message image block"] = Anthropic(MessagesBody("", """[{"role":"system","content":[{"type":"image"}]}]"""), "messages.0.content.0.type"),
        ["anthropic unknown role"] = Anthropic(MessagesBody("", """[{"role":"tool","content":"hi"}]"""), "messages.0.role"),
        ["anthropic content number"] = Anthropic(MessagesBody("", """[{"role":"user","content":7}]"""), "messages.0.content"),
        ["anthropic content missing"] = Anthropic(MessagesBody("", """[{"role":"user"}]"""), "messages.0.content"),
        ["anthropic unknown block"] = Anthropic(MessagesBody("", """[{"role":"user","content":[{"type":"video"}]}]"""), "messages.0.content.0.type"),
        ["anthropic image block"] = Anthropic(MessagesBody("", """[{"role":"user","content":[{"type":"image","source":{}}]}]"""), "messages.0.content.0.type"),
        ["anthropic block without type"] = Anthropic(MessagesBody("", """[{"role":"user","content":[{"text":"hi"}]}]"""), "messages.0.content.0.type"),
        ["anthropic tool_result without tool_use"] = Anthropic(MessagesBody("", """[{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"x"}]}]"""), "messages.0.content.0.tool_use_id"),
        ["anthropic tool_use in user"] = Anthropic(MessagesBody("", """[{"role":"user","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]}]"""), "messages.0.content.0.type"),
        ["anthropic tool_use input string"] = Anthropic(MessagesBody("", """[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":"x"}]}]"""), "messages.1.content.0.input"),
        ["anthropic temperature too high"] = Anthropic(MessagesBody(""","temperature":1.5"""), "temperature"),
        ["anthropic top_k negative"] = Anthropic(MessagesBody(""","top_k":-1"""), "top_k"),
        ["anthropic empty stop sequence"] = Anthropic(MessagesBody(""","stop_sequences":[""]"""), "stop_sequences.0"),
        ["anthropic tool without schema"] = Anthropic(MessagesBody(""","tools":[{"name":"f"}]"""), "tools.0.input_schema"),
        ["anthropic tool_choice unknown"] = Anthropic(MessagesBody(""","tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"sometimes"}"""), "tool_choice.type"),
        ["anthropic tool_choice without name"] = Anthropic(MessagesBody(""","tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"tool"}"""), "tool_choice.name"),
        ["anthropic system number"] = Anthropic(MessagesBody(""","system":3"""), "system"),
        ["anthropic system image block"] = Anthropic(MessagesBody(""","system":[{"type":"image"}]"""), "system.0.type"),
        ["anthropic prompt longer than context"] = Anthropic(MessagesBody("", $$"""[{"role":"user","content":"{{new string('y', 3000)}}"}]"""), "messages", Contains: "context holds 2048"),
        ["anthropic oversized body"] = new("POST", Messages, Encoding.UTF8.GetBytes(MessagesBody("", $$"""[{"role":"user","content":"{{new string('x', 300 * 1024)}}"}]""")), HttpStatusCode.RequestEntityTooLarge, XApiKey: true),
        ["anthropic wrong method"] = new("GET", Messages, null, HttpStatusCode.MethodNotAllowed, XApiKey: true),
        ["anthropic unknown route"] = new("POST", "/v1/messages/nope", Encoding.UTF8.GetBytes("{}"), HttpStatusCode.NotFound, XApiKey: true),
        ["anthropic wrong x-api-key"] = new("POST", Messages, Encoding.UTF8.GetBytes(MessagesBody("")), HttpStatusCode.Unauthorized, Key: "nope", XApiKey: true),
        ["anthropic count_tokens without messages"] = Anthropic("""{"model":"kimi"}""", "messages", path: "/v1/messages/count_tokens"),
    };

    public static TheoryData<string> CaseNames() => new(Cases.Keys);

    [Fact]
    public void Suite_has_at_least_fifty_cases() => Assert.True(Cases.Count >= 50, $"{Cases.Count} cases");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Malformed_request_gets_its_api_error_and_the_server_keeps_serving(string name)
    {
        var c = Cases[name];
        using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
        if (c.Body is not null)
            request.Content = new ByteArrayContent(c.Body) { Headers = { ContentType = new("application/json") } };
        if (c.Key is not null)
        {
            if (c.XApiKey)
                request.Headers.Add("x-api-key", c.Key);
            else
                request.Headers.Authorization = new("Bearer", c.Key);
        }

        using var client = new HttpClient { BaseAddress = fixture.BaseAddress };
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(c.Status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("   at ", text); // never a stack trace
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        string message;
        if (c.Path.StartsWith(Messages, StringComparison.Ordinal))
        {
            Assert.Equal("error", root.GetProperty("type").GetString());
            var error = root.GetProperty("error");
            Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
            message = error.GetProperty("message").GetString()!;
            if (c.Param is not null)
                Assert.StartsWith(c.Param + ":", message);
        }
        else
        {
            var error = root.GetProperty("error");
            Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
            message = error.GetProperty("message").GetString()!;
            if (c.Param is not null)
                Assert.Equal(c.Param, error.GetProperty("param").GetString());
        }

        if (c.Contains is not null)
            Assert.Contains(c.Contains, message);

        // ... and the server is still serving.
        using var check = await fixture.Http.PostAsync(Chat, new StringContent(ChatBody(""","max_tokens":3"""), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, check.StatusCode);
    }
}
