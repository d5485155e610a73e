using System.Text;
using System.Text.Json;
using KimiSharp.Chat.Jinja;

namespace KimiSharp.Chat;

/// <summary>
/// Turns messages (+ tools) into the prompt text through a GGUF's chat template, or through the native Kimi
/// renderer when the file has none. History is normalised first (<see cref="ChatHistoryNormalizer"/>).
/// Templates run in the Jinja sandbox with list/dict mutation allowed (as llama.cpp does: the published
/// Kimi-K2 GGUF templates call <c>list.append</c>, which Hugging Face's immutable sandbox rejects).
/// Segments: message content, names and tool arguments are located exactly by rendering a second time with
/// private-use sentinels in their place; when a template transforms content so that the two renders disagree,
/// the whole prompt is one template segment (Hugging Face's behaviour).
/// </summary>
public sealed class ChatFormatter
{
    private const char SentinelOpen = '\uE000';
    private const char SentinelClose = '\uE001';
    private const char SentinelDigit0 = '\uE010';

    private readonly JinjaTemplate? _template;
    private readonly string _bosToken;
    private readonly string _eosToken;

    /// <param name="templateSource">tokenizer.chat_template from the GGUF, or null/empty for the native Kimi renderer.</param>
    public ChatFormatter(string? templateSource, string bosToken, string eosToken)
    {
        _template = string.IsNullOrWhiteSpace(templateSource) ? null : JinjaTemplate.Parse(templateSource, JinjaOptions.Permissive);
        Reasons = templateSource?.Contains(ReasoningParser.Open, StringComparison.Ordinal) == true;
        _bosToken = bosToken ?? "";
        _eosToken = eosToken ?? "";
    }

    /// <summary>True when a template from the model is used (false: native Kimi renderer).</summary>
    public bool UsesTemplate => _template != null;

    /// <summary>
    /// True when the template is a thinking model's (it writes <c>&lt;think&gt;</c>, as Kimi-K2-Thinking's does):
    /// the model's output starts with reasoning, and history reasoning is passed to it as <c>reasoning_content</c>.
    /// </summary>
    public bool Reasons { get; }

    public FormattedPrompt Format(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ToolDefinition>? tools, bool addGenerationPrompt = true)
    {
        var normalized = ChatHistoryNormalizer.Normalize(messages, out var idMap);
        var toolsValue = BuildTools(tools);
        if (_template == null)
        {
            var b = new PromptBuilder();
            NativeKimiRenderer.Render(b, normalized, PyValues.FromClr(toolsValue), addGenerationPrompt);
            return new FormattedPrompt(b.Text, b.Segments, idMap);
        }

        string text = _template.Render(BuildContext(normalized, toolsValue, addGenerationPrompt, null));
        var pieces = new List<string>();
        bool canMark = true;
        foreach (var m in normalized)
        {
            canMark &= !ContainsSentinelChars(m.Content) && !ContainsSentinelChars(m.Name) && !ContainsSentinelChars(m.ReasoningContent);
            foreach (var c in m.ToolCalls ?? []) canMark &= !ContainsSentinelChars(c.Arguments);
        }
        if (canMark)
        {
            string marked = _template.Render(BuildContext(normalized, toolsValue, addGenerationPrompt, s =>
            {
                if (string.IsNullOrEmpty(s)) return s;
                pieces.Add(s);
                return Sentinel(pieces.Count - 1);
            }));
            if (pieces.Count > 0 && TrySegments(marked, pieces, text, out var segments)) return new FormattedPrompt(text, segments, idMap);
        }
        return new FormattedPrompt(text, text.Length == 0 ? [] : [new PromptSegment(text, true)], idMap);
    }

    private static bool ContainsSentinelChars(string? s) => s != null && s.AsSpan().IndexOfAnyInRange(SentinelOpen, (char)(SentinelDigit0 + 9)) >= 0;

    private static string Sentinel(int index)
    {
        var sb = new StringBuilder().Append(SentinelOpen);
        foreach (char d in index.ToString(System.Globalization.CultureInfo.InvariantCulture)) sb.Append((char)(SentinelDigit0 + (d - '0')));
        return sb.Append(SentinelClose).ToString();
    }

    /// <summary>Splits the sentinel render into template/content segments; succeeds only when substituting the
    /// content back reproduces the real render exactly.</summary>
    private static bool TrySegments(string marked, List<string> pieces, string expected, out IReadOnlyList<PromptSegment> segments)
    {
        var b = new PromptBuilder();
        int pos = 0;
        while (pos < marked.Length)
        {
            int open = marked.IndexOf(SentinelOpen, pos);
            if (open < 0) { b.Template(marked[pos..]); break; }
            int close = marked.IndexOf(SentinelClose, open + 1);
            if (close < 0) { segments = []; return false; }
            int index = 0;
            for (int i = open + 1; i < close; i++)
            {
                int d = marked[i] - SentinelDigit0;
                if (d < 0 || d > 9) { segments = []; return false; }
                index = index * 10 + d;
            }
            if (index >= pieces.Count || close == open + 1) { segments = []; return false; }
            b.Template(marked[pos..open]);
            b.Content(pieces[index]);
            pos = close + 1;
        }
        segments = b.Segments;
        return string.Equals(b.Text, expected, StringComparison.Ordinal);
    }

    private static List<object?>? BuildTools(IReadOnlyList<ToolDefinition>? tools)
    {
        if (tools is not { Count: > 0 }) return null;
        var list = new List<object?>(tools.Count);
        foreach (var t in tools)
        {
            var function = new Dictionary<string, object?>(StringComparer.Ordinal) { ["name"] = t.Name };
            if (t.Description != null) function["description"] = t.Description;
            if (!string.IsNullOrWhiteSpace(t.ParametersJson))
            {
                using var doc = JsonDocument.Parse(t.ParametersJson);
                function["parameters"] = JinjaValues.FromJson(doc.RootElement);
            }
            list.Add(new Dictionary<string, object?>(StringComparer.Ordinal) { ["type"] = "function", ["function"] = function });
        }
        return list;
    }

    private Dictionary<string, object?> BuildContext(IReadOnlyList<ChatMessage> messages, List<object?>? tools, bool addGenerationPrompt, Func<string, string>? mark)
    {
        string Mark(string s) => mark == null ? s : mark(s);
        var list = new List<object?>(messages.Count);
        foreach (var m in messages)
        {
            var d = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["role"] = m.Role,
                ["content"] = Mark(m.Content ?? ""),
            };
            if (m.Name != null) d["name"] = Mark(m.Name);
            if (m.ReasoningContent != null) d["reasoning_content"] = Mark(m.ReasoningContent);
            if (m.ToolCalls is { Count: > 0 } calls)
            {
                d["tool_calls"] = calls.Select(c => (object?)new Dictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["id"] = c.Id,
                    ["type"] = "function",
                    ["function"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["name"] = c.Name, ["arguments"] = Mark(c.Arguments) },
                }).ToList();
            }
            if (m.ToolCallId != null) d["tool_call_id"] = m.ToolCallId;
            list.Add(d);
        }
        var context = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["messages"] = list,
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = _bosToken,
            ["eos_token"] = _eosToken,
        };
        if (tools != null) context["tools"] = tools;
        return context;
    }
}
