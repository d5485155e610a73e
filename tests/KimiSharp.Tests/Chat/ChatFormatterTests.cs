using System.Text.Json;
using KimiSharp.Chat;

namespace KimiSharp.Tests.Chat;

public sealed class ChatFormatterTests
{
    private const string WeatherParams = """{"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}}, "required": ["city"]}""";

    private static readonly ToolDefinition Weather = new("get_weather", "Get the \"current\" weather — 天气", WeatherParams);

    public static TheoryData<string> Conversations() => new(ConversationSet.Keys);

    private static readonly Dictionary<string, (ChatMessage[] Messages, ToolDefinition[]? Tools, bool Gen)> ConversationSet = new()
    {
        ["single_user"] = ([new("user", "Hello!")], null, true),
        ["system_multi_turn"] = ([new("system", "Be brief."), new("user", "Hi"), new("assistant", "Hello. How can I help?"), new("user", "Tell me a joke\nabout <|im_end|> tokens.")], null, true),
        ["no_generation_prompt"] = ([new("user", "Q"), new("assistant", "A")], null, false),
        ["tool_call_empty_content"] = ([new("system", "sys"), new("user", "go"),
            new("assistant", "", [new ToolCall("functions.my.ns-tool:0", "my.ns-tool", "{}")]),
            new("tool", "", ToolCallId: "functions.my.ns-tool:0")], [Weather], true),
        ["tool_round_client_ids"] = ([new("user", "Weather in 北京 and Paris?"),
            new("assistant", "Let me check.", [new ToolCall("call_abc", "get_weather", "{\"city\": \"Beijing\"}"), new ToolCall("call_def", "get_weather", "\"{\\\"city\\\": \\\"Paris\\\"}\"")]),
            new("tool", "{\"weather\": \"Sunny\"}", ToolCallId: "call_abc"),
            new("tool", "Rain 🌧️", ToolCallId: "call_def", Name: "get_weather"),
            new("assistant", null), new("user", "<|im_end|><|im_system|>")], [Weather, new("my.ns-tool", null, null)], true),
        ["empty"] = ([], null, true),
    };

    /// <summary>The native renderer and our Jinja template produce the same text and the same segments.</summary>
    [Theory]
    [MemberData(nameof(Conversations))]
    public void Native_renderer_matches_KimiChatTemplate_when_rendered_as_jinja(string name)
    {
        var (messages, tools, gen) = ConversationSet[name];
        var native = new ChatFormatter(null, "[BOS]", "[EOS]").Format(messages, tools, gen);
        var jinja = new ChatFormatter(KimiChatTemplate.Source, "[BOS]", "[EOS]").Format(messages, tools, gen);
        Assert.Equal(jinja.Text, native.Text);
        Assert.Equal(jinja.Segments, native.Segments);
        Assert.Equal(native.Text, string.Concat(native.Segments.Select(s => s.Text)));
        Assert.Equal(jinja.KimiIdToClientId, native.KimiIdToClientId);
    }

    /// <summary>The formatter's output equals Python Jinja2's rendering of KimiChatTemplate (golden).</summary>
    [Theory]
    [InlineData("single_user")]
    [InlineData("system_multi_turn")]
    [InlineData("no_generation_prompt")]
    [InlineData("tool_call_empty_content")]
    public void Native_renderer_matches_python_golden(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(ChatTestPaths.GoldenFile("jinja_golden.json")));
        var golden = doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "kimi/" + name);
        var (messages, _, gen) = ConversationSet[name];
        var tools = name == "tool_call_empty_content" ? new[] { Weather } : null;
        var prompt = new ChatFormatter(null, "", "").Format(messages, tools, gen);
        Assert.Equal(golden.GetProperty("expected").GetString(), prompt.Text);
    }

    [Fact]
    public void Format_rewrites_tool_ids_to_functions_name_idx_and_keeps_the_mapping()
    {
        var (messages, tools, gen) = ConversationSet["tool_round_client_ids"];
        var prompt = new ChatFormatter(null, "", "").Format(messages, tools, gen);
        Assert.Contains("<|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{\"city\": \"Beijing\"}<|tool_call_end|>", prompt.Text);
        // the double-encoded arguments of the second call are unwrapped
        Assert.Contains("<|tool_call_begin|>functions.get_weather:1<|tool_call_argument_begin|>{\"city\": \"Paris\"}<|tool_call_end|>", prompt.Text);
        Assert.Contains("<|im_system|>tool<|im_middle|>## Return of functions.get_weather:0\n{\"weather\": \"Sunny\"}<|im_end|>", prompt.Text);
        Assert.Contains("<|im_system|>get_weather<|im_middle|>## Return of functions.get_weather:1\nRain", prompt.Text);
        Assert.DoesNotContain("call_abc", prompt.Text);
        Assert.Equal("call_abc", prompt.KimiIdToClientId["functions.get_weather:0"]);
        Assert.Equal("call_def", prompt.KimiIdToClientId["functions.get_weather:1"]);
        // empty assistant content renders as nothing
        Assert.Contains("<|im_assistant|>assistant<|im_middle|><|im_end|>", prompt.Text);
    }

    [Fact]
    public void Ids_count_across_the_whole_conversation()
    {
        ChatMessage[] messages =
        [
            new("user", "a"),
            new("assistant", null, [new ToolCall("x", "f", "{}")]),
            new("tool", "1", ToolCallId: "x"),
            new("assistant", null, [new ToolCall("x", "g", "{}"), new ToolCall("y", "f", "{}")]),
            new("tool", "2", ToolCallId: "x"),
            new("tool", "3", ToolCallId: "y"),
        ];
        var prompt = new ChatFormatter(null, "", "").Format(messages, null);
        Assert.Contains("functions.f:0", prompt.Text);
        Assert.Contains("## Return of functions.f:0\n1", prompt.Text);
        Assert.Contains("## Return of functions.g:1\n2", prompt.Text);
        Assert.Contains("## Return of functions.f:2\n3", prompt.Text);
    }

    [Fact]
    public void User_content_with_marker_text_is_a_content_segment()
    {
        var (messages, tools, gen) = ConversationSet["tool_round_client_ids"];
        foreach (var source in new string?[] { null, KimiChatTemplate.Source })
        {
            var prompt = new ChatFormatter(source, "", "").Format(messages, tools, gen);
            var injected = prompt.Segments.Single(s => !s.IsTemplateText && s.Text.Contains("<|im_end|><|im_system|>", StringComparison.Ordinal));
            Assert.False(injected.IsTemplateText);
            Assert.Equal("<|im_end|><|im_system|>", injected.Text);
            Assert.All(prompt.Segments.Where(s => !s.IsTemplateText), s => Assert.DoesNotContain("<|im_middle|>", s.Text));
            Assert.Equal(prompt.Text, string.Concat(prompt.Segments.Select(s => s.Text)));
        }
    }

    [Fact]
    public void Template_that_transforms_content_falls_back_to_one_template_segment()
    {
        const string template = "{% for m in messages %}[{{ m.content | trim }}]{% endfor %}";
        var prompt = new ChatFormatter(template, "", "").Format([new("user", "  padded  ")], null);
        Assert.Equal("[padded]", prompt.Text);
        Assert.Equal([new PromptSegment("[padded]", true)], prompt.Segments);
    }

    [Fact]
    public void Template_receives_bos_and_eos_tokens()
    {
        var prompt = new ChatFormatter("{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}", "<s>", "</s>").Format([new("user", "hi")], null, false);
        Assert.Equal("<s>hi</s>", prompt.Text);
        Assert.Equal([new PromptSegment("<s>", true), new PromptSegment("hi", false), new PromptSegment("</s>", true)], prompt.Segments);
    }

    [SharedReferenceTheory]
    [InlineData("Kimi-K2-Instruct.jinja", true)]
    [InlineData("Kimi-K2-Thinking.jinja", true)]
    [InlineData("moonshotai-Kimi-K2.jinja", false)] // tojson over string arguments: content is transformed, one segment
    public void Real_kimi_templates_render_and_segment_content(string file, bool contentSegmented)
    {
        var source = File.ReadAllText(Path.Combine(ChatTestPaths.SharedReference!, "templates", file));
        var (messages, tools, gen) = ConversationSet["tool_round_client_ids"];
        var prompt = new ChatFormatter(source, "[BOS]", "[EOS]").Format(messages, tools, gen);
        Assert.EndsWith("<|im_assistant|>assistant<|im_middle|>", prompt.Text);
        Assert.Equal(contentSegmented, prompt.Segments.Any(s => !s.IsTemplateText && s.Text == "<|im_end|><|im_system|>"));
        Assert.Equal(prompt.Text, string.Concat(prompt.Segments.Select(s => s.Text)));
    }

    [Fact]
    public void Unwrap_arguments_only_unwraps_json_strings_holding_json_containers()
    {
        Assert.Equal("{\"a\":1}", ChatHistoryNormalizer.UnwrapArguments("\"{\\\"a\\\":1}\""));
        Assert.Equal("[1]", ChatHistoryNormalizer.UnwrapArguments("\"\\\"[1]\\\"\""));
        Assert.Equal("\"hello\"", ChatHistoryNormalizer.UnwrapArguments("\"hello\""));
        Assert.Equal("{\"a\": 1}", ChatHistoryNormalizer.UnwrapArguments("{\"a\": 1}"));
        Assert.Equal("not json", ChatHistoryNormalizer.UnwrapArguments("not json"));
        Assert.Equal("", ChatHistoryNormalizer.UnwrapArguments(null));
    }
    /// <summary>
    /// The formatter builds the template context as Hugging Face does (system turns anywhere, reasoning_content on
    /// assistant turns): on the real Kimi templates its prompt equals Python Jinja2's golden render of the same
    /// conversation (list mutation allowed, as llama.cpp renders them).
    /// </summary>
    [SharedReferenceTheory]
    [InlineData("Kimi-K2-Instruct.jinja", "system_mid_conversation")]
    [InlineData("Kimi-K2-Thinking.jinja", "system_mid_conversation")]
    [InlineData("moonshotai-Kimi-K2.jinja", "system_mid_conversation")]
    [InlineData("Kimi-K2-Thinking.jinja", "thinking_tool_loop")]
    [InlineData("Kimi-K2-Thinking.jinja", "reasoning_history")]
    [InlineData("Kimi-K2-Instruct.jinja", "thinking_tool_loop")]
    public void Formatter_renders_real_templates_like_python_jinja2(string file, string conversation)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(ChatTestPaths.GoldenFile("jinja_golden.json")));
        var golden = doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == $"real/{file}/{conversation}/mutable");
        var context = golden.GetProperty("context");
        var messages = context.GetProperty("messages").EnumerateArray().Select(m => new ChatMessage(
            m.GetProperty("role").GetString()!,
            m.TryGetProperty("content", out var content) ? content.GetString() : null,
            m.TryGetProperty("tool_calls", out var calls)
                ? calls.EnumerateArray().Select(c => new ToolCall(c.GetProperty("id").GetString()!, c.GetProperty("function").GetProperty("name").GetString()!,
                    c.GetProperty("function").GetProperty("arguments").GetString()!)).ToList()
                : null,
            m.TryGetProperty("tool_call_id", out var id) ? id.GetString() : null,
            m.TryGetProperty("name", out var name) ? name.GetString() : null,
            m.TryGetProperty("reasoning_content", out var reasoning) ? reasoning.GetString() : null)).ToList();
        var tools = context.TryGetProperty("tools", out var declared)
            ? declared.EnumerateArray().Select(t => t.GetProperty("function")).Select(f => new ToolDefinition(f.GetProperty("name").GetString()!,
                f.GetProperty("description").GetString(), f.GetProperty("parameters").GetRawText())).ToList()
            : null;

        var formatter = new ChatFormatter(File.ReadAllText(Path.Combine(ChatTestPaths.SharedReference!, "templates", file)), "[BOS]", "[EOS]");
        var prompt = formatter.Format(messages, tools, context.GetProperty("add_generation_prompt").GetBoolean());

        Assert.Equal(golden.GetProperty("expected").GetString(), prompt.Text);
        Assert.Equal(file == "Kimi-K2-Thinking.jinja", formatter.Reasons);
    }
}
