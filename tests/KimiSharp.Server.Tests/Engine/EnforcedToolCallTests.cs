using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using KimiSharp.Server.Tests.Support;
using KimiSharp.Tests.Grammar;

namespace KimiSharp.Server.Tests.Engine;

/// <summary>
/// Issue 15's guarantees over HTTP on a random-weight model with the 163,840-token Kimi vocabulary: with
/// tool_choice required every call (OpenAI chat, Anthropic Messages, Responses) names a declared tool, carries the
/// next global Kimi id and arguments JsonSchema.Net accepts; with none there is never a call nor tool markup,
/// even when the request's logit_bias pushes the markers.
/// </summary>
public sealed class EnforcedToolCallTests(KimiVocabServerFixture fixture) : IClassFixture<KimiVocabServerFixture>
{
    private static readonly EvaluationOptions Validation = new() { RequireFormatValidation = true, OutputFormat = OutputFormat.List };

    /// <summary>Bounded schemas (every string, array and number has a limit), so a random model's calls always end.</summary>
    private static readonly Dictionary<string, string> Schemas = new()
    {
        ["get_weather"] = """{"type":"object","properties":{"city":{"type":"string","maxLength":12},"unit":{"enum":["celsius","fahrenheit"]},"days":{"type":"integer","minimum":1,"maximum":14}},"required":["city"],"additionalProperties":false}""",
        ["set_alarm"] = """{"type":"object","properties":{"time":{"type":"string","format":"time"},"label":{"type":"string","minLength":1,"maxLength":8},"repeat":{"type":"array","items":{"enum":["mon","tue","wed","thu","fri"]},"maxItems":3}},"required":["time"],"additionalProperties":false}""",
        ["search"] = """{"type":"object","properties":{"ids":{"type":"array","items":{"type":"integer","minimum":0,"maximum":999},"minItems":1,"maxItems":4},"filter":{"anyOf":[{"type":"null"},{"type":"object","properties":{"kind":{"const":"tag"},"q":{"type":"string","pattern":"^[a-z]{1,6}$"}},"required":["kind","q"],"additionalProperties":false}]}},"required":["ids","filter"],"additionalProperties":false}""",
    };

    private static readonly string[] Markers =
        ["<|tool_calls_section_begin|>", "<|tool_calls_section_end|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>"];

    private static JsonArray OpenAiTools() => new(Schemas.Select(s => (JsonNode)new JsonObject
    {
        ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = s.Key, ["description"] = $"the {s.Key} tool", ["parameters"] = JsonNode.Parse(s.Value) },
    }).ToArray());

    private async Task<JsonElement> Post(string path, JsonObject body)
    {
        using var response = await fixture.Http.PostAsJsonAsync(path, body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The call names a declared tool and its arguments are valid against that tool's schema.</summary>
    private static void AssertValidCall(string name, string arguments)
    {
        Assert.True(Schemas.TryGetValue(name, out var schema), $"undeclared tool '{name}'");
        using var doc = JsonDocument.Parse(arguments);
        var result = JsonSchema.FromText(schema).Evaluate(doc.RootElement, Validation);
        Assert.True(result.IsValid, $"{name}: {arguments}");
    }

    /// <summary>The model wrote functions.NAME:IDX with IDX counting on from <paramref name="first"/>.</summary>
    private void AssertKimiIds(IReadOnlyList<string> names, int first)
    {
        var ids = fixture.TakeKimiIds();
        Assert.Equal(names.Select((n, i) => $"functions.{n}:{first + i}"), ids);
    }

    [Fact]
    public async Task OpenAi_chat_with_tool_choice_required_always_calls_declared_tools_with_valid_arguments_and_ids()
    {
        fixture.TakeKimiIds();
        int calls = 0;
        for (int seed = 0; seed < 6; seed++)
        {
            var reply = await Post("/v1/chat/completions", new JsonObject
            {
                ["model"] = "kimi-vocab-tiny",
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = $"Request {seed}: use a tool." }),
                ["tools"] = OpenAiTools(),
                ["tool_choice"] = "required",
                ["temperature"] = 1.0,
                ["seed"] = seed,
                ["max_tokens"] = 400,
            });
            var choice = reply.GetProperty("choices")[0];
            Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
            var toolCalls = choice.GetProperty("message").GetProperty("tool_calls").EnumerateArray().ToList();
            Assert.NotEmpty(toolCalls);
            var names = new List<string>();
            foreach (var call in toolCalls)
            {
                Assert.StartsWith("call_", call.GetProperty("id").GetString());
                var function = call.GetProperty("function");
                names.Add(function.GetProperty("name").GetString()!);
                AssertValidCall(names[^1], function.GetProperty("arguments").GetString()!);
            }
            Assert.Equal(toolCalls.Count, toolCalls.Select(c => c.GetProperty("id").GetString()).Distinct().Count());
            AssertKimiIds(names, 0);
            calls += names.Count;
        }
        Assert.True(calls >= 6);
    }

    [Fact]
    public async Task Ids_continue_the_conversation_s_global_call_count()
    {
        fixture.TakeKimiIds();
        var history = new JsonArray(
            new JsonObject { ["role"] = "user", ["content"] = "Weather in Paris and Rome?" },
            new JsonObject
            {
                ["role"] = "assistant",
                ["content"] = "",
                ["tool_calls"] = new JsonArray(
                    new JsonObject { ["id"] = "call_a", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = """{"city":"Paris"}""" } },
                    new JsonObject { ["id"] = "call_b", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = """{"city":"Rome"}""" } }),
            },
            new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_a", ["content"] = "sunny" },
            new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_b", ["content"] = "rain" },
            new JsonObject { ["role"] = "user", ["content"] = "Now set an alarm." });
        var reply = await Post("/v1/chat/completions", new JsonObject
        {
            ["model"] = "kimi-vocab-tiny",
            ["messages"] = history,
            ["tools"] = OpenAiTools(),
            ["tool_choice"] = new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "set_alarm" } },
            ["temperature"] = 1.0,
            ["seed"] = 7,
            ["max_tokens"] = 400,
        });
        var calls = reply.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls").EnumerateArray().ToList();
        var names = calls.Select(c => c.GetProperty("function").GetProperty("name").GetString()!).ToList();
        Assert.All(names, n => Assert.Equal("set_alarm", n));
        foreach (var call in calls) AssertValidCall("set_alarm", call.GetProperty("function").GetProperty("arguments").GetString()!);
        AssertKimiIds(names, 2);
    }

    [Fact]
    public async Task Anthropic_with_tool_choice_any_always_calls_declared_tools_with_valid_input()
    {
        fixture.TakeKimiIds();
        var tools = new JsonArray(Schemas.Select(s => (JsonNode)new JsonObject { ["name"] = s.Key, ["input_schema"] = JsonNode.Parse(s.Value) }).ToArray());
        for (int i = 0; i < 6; i++)
        {
            // Greedy (Anthropic has no seed): a different question gives a different path.
            var reply = await Post("/v1/messages", new JsonObject
            {
                ["model"] = "kimi-vocab-tiny",
                ["max_tokens"] = 400,
                ["temperature"] = 0.0,
                ["tools"] = tools.DeepClone(),
                ["tool_choice"] = new JsonObject { ["type"] = "any" },
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = $"Question number {i * 37}?" }),
            });
            Assert.Equal("tool_use", reply.GetProperty("stop_reason").GetString());
            var uses = reply.GetProperty("content").EnumerateArray().Where(b => b.GetProperty("type").GetString() == "tool_use").ToList();
            Assert.NotEmpty(uses);
            var names = new List<string>();
            foreach (var use in uses)
            {
                Assert.StartsWith("toolu_", use.GetProperty("id").GetString());
                names.Add(use.GetProperty("name").GetString()!);
                AssertValidCall(names[^1], use.GetProperty("input").GetRawText());
            }
            AssertKimiIds(names, 0);
        }
    }

    [Fact]
    public async Task Responses_with_tool_choice_required_always_calls_declared_tools_with_valid_arguments()
    {
        fixture.TakeKimiIds();
        var tools = new JsonArray(Schemas.Select(s => (JsonNode)new JsonObject { ["type"] = "function", ["name"] = s.Key, ["parameters"] = JsonNode.Parse(s.Value), ["strict"] = false }).ToArray());
        for (int seed = 0; seed < 6; seed++)
        {
            var reply = await Post("/v1/responses", new JsonObject
            {
                ["model"] = "kimi-vocab-tiny",
                ["input"] = $"Task {seed}: pick a tool.",
                ["tools"] = tools.DeepClone(),
                ["tool_choice"] = "required",
                ["temperature"] = 1.0,
                ["seed"] = seed,
                ["max_output_tokens"] = 400,
                ["store"] = false,
            });
            Assert.Equal("completed", reply.GetProperty("status").GetString());
            var calls = reply.GetProperty("output").EnumerateArray().Where(o => o.GetProperty("type").GetString() == "function_call").ToList();
            Assert.NotEmpty(calls);
            var names = new List<string>();
            foreach (var call in calls)
            {
                Assert.StartsWith("call_", call.GetProperty("call_id").GetString());
                names.Add(call.GetProperty("name").GetString()!);
                AssertValidCall(names[^1], call.GetProperty("arguments").GetString()!);
            }
            AssertKimiIds(names, 0);
        }
    }

    [Fact]
    public async Task Tool_choice_none_never_calls_nor_writes_tool_markup_even_when_the_markers_are_pushed()
    {
        fixture.TakeKimiIds();
        // +100 on every marker: unconstrained, the model would open a tool-call section at once.
        var bias = new JsonObject();
        for (int id = KimiLikeVocabulary.SectionBegin; id <= KimiLikeVocabulary.CallEnd; id++) bias[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = 100;
        for (int seed = 0; seed < 4; seed++)
        {
            var chat = await Post("/v1/chat/completions", new JsonObject
            {
                ["model"] = "kimi-vocab-tiny",
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = $"Chat {seed}" }),
                ["tools"] = OpenAiTools(),
                ["tool_choice"] = "none",
                ["logit_bias"] = bias.DeepClone(),
                ["temperature"] = 1.0,
                ["seed"] = seed,
                ["max_tokens"] = 60,
            });
            var message = chat.GetProperty("choices")[0].GetProperty("message");
            Assert.False(message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array && calls.GetArrayLength() > 0);
            AssertNoMarkup(message.GetProperty("content").GetString());

            var anthropic = await Post("/v1/messages", new JsonObject
            {
                ["model"] = "kimi-vocab-tiny",
                ["max_tokens"] = 60,
                ["temperature"] = 1.0,
                ["tools"] = new JsonArray(Schemas.Select(s => (JsonNode)new JsonObject { ["name"] = s.Key, ["input_schema"] = JsonNode.Parse(s.Value) }).ToArray()),
                ["tool_choice"] = new JsonObject { ["type"] = "none" },
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = $"Chat {seed}" }),
            });
            Assert.NotEqual("tool_use", anthropic.GetProperty("stop_reason").GetString());
            foreach (var block in anthropic.GetProperty("content").EnumerateArray())
            {
                Assert.Equal("text", block.GetProperty("type").GetString());
                AssertNoMarkup(block.GetProperty("text").GetString());
            }

            var responses = await Post("/v1/responses", new JsonObject
            {
                ["model"] = "kimi-vocab-tiny",
                ["input"] = $"Chat {seed}",
                ["tools"] = new JsonArray(Schemas.Select(s => (JsonNode)new JsonObject { ["type"] = "function", ["name"] = s.Key, ["parameters"] = JsonNode.Parse(s.Value) }).ToArray()),
                ["tool_choice"] = "none",
                ["seed"] = seed,
                ["max_output_tokens"] = 60,
                ["store"] = false,
            });
            foreach (var item in responses.GetProperty("output").EnumerateArray())
            {
                Assert.Equal("message", item.GetProperty("type").GetString());
                foreach (var part in item.GetProperty("content").EnumerateArray()) AssertNoMarkup(part.GetProperty("text").GetString());
            }
        }
        Assert.Empty(fixture.TakeKimiIds());
    }

    private static void AssertNoMarkup(string? text)
    {
        foreach (var marker in Markers) Assert.DoesNotContain(marker, text ?? "", StringComparison.Ordinal);
    }
}
