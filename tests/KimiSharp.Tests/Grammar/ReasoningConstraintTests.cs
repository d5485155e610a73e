using System.Text;
using System.Text.Json;
using KimiSharp.Grammar;
using KimiSharp.Sampling;
using V = KimiSharp.Tests.Grammar.KimiLikeVocabulary;

namespace KimiSharp.Tests.Grammar;

/// <summary>
/// Thinking models (Kimi-K2-Thinking): the reply's constraints start only once the reasoning block closes; before
/// that the model writes any text (tool-call markers aside), and a tool-call section opened inside the reasoning
/// ends it. Driven through the engine's calls (BeginMask, ApplyMask, Accept) with real Kimi-vocabulary tokens.
/// </summary>
public class ReasoningConstraintTests
{
    private static readonly Enforcer Enforcer = new(V.Grammar);

    private static readonly ToolGrammar Weather = new("get_weather", Enforcer.ToolArguments("get_weather",
        """{"type":"object","properties":{"city":{"type":"string","maxLength":10}},"required":["city"],"additionalProperties":false}"""));

    private static int[] Tokens(string text) => V.Tokenizer.Encode(text, parseSpecial: false).ToArray();

    /// <summary>The mask of the next position over all-zero logits: finite = allowed.</summary>
    private static float[] Allowed(ITokenConstraint constraint)
    {
        var logits = new float[V.Size];
        constraint.BeginMask();
        constraint.ApplyMask(logits);
        return logits;
    }

    /// <summary>Feeds <paramref name="tokens"/>, each checked against the mask first.</summary>
    private static void Feed(ITokenConstraint constraint, IEnumerable<int> tokens)
    {
        foreach (int token in tokens)
        {
            Assert.True(float.IsFinite(Allowed(constraint)[token]), $"token {token} was masked");
            constraint.Accept(token);
        }
    }

    /// <summary>Follows the mask to the end of generation (a seeded random allowed token each step, closers preferred later).</summary>
    private static List<int> Walk(ITokenConstraint constraint, int seed, int limit = 400)
    {
        var random = new Random(seed);
        var picked = new List<int>();
        for (int step = 0; step < limit; step++)
        {
            var logits = Allowed(constraint);
            var allowed = Enumerable.Range(0, V.Size).Where(id => float.IsFinite(logits[id])).ToList();
            Assert.NotEmpty(allowed);
            var closers = allowed.Where(id => id >= V.FirstSpecial || V.Grammar.TokenBytes[id] is [(byte)'"' or (byte)'}', ..]).ToList();
            var pool = step > 20 && closers.Count > 0 ? closers : allowed;
            int token = pool[random.Next(pool.Count)];
            constraint.Accept(token);
            picked.Add(token);
            if (V.Grammar.EndOfGeneration.Contains(token)) return picked;
        }
        Assert.Fail("the walk did not end");
        return picked;
    }

    [Fact]
    public void Required_tool_call_starts_only_after_the_reasoning_closes()
    {
        var constraint = Enforcer.Create(new ChatConstraintOptions { ToolCalls = ToolCallMode.Required, Tools = [Weather], ReasoningEnd = "</think>" });
        // Reasoning: free text, not yet the tool-call section; no end of turn, no call markers but the section opener.
        var first = Allowed(constraint);
        Assert.True(float.IsFinite(first[Tokens("Let")[0]]));
        Assert.True(float.IsFinite(first[V.SectionBegin]));
        Assert.True(float.IsNegativeInfinity(first[V.CallBegin]));
        Assert.True(float.IsNegativeInfinity(first[V.ImEnd]));
        Feed(constraint, Tokens("<think>Let me check the weather tool. {\"not\": json</thi"));
        Assert.True(float.IsFinite(Allowed(constraint)[Tokens("x")[0]]), "'</thi' is not the end yet");
        Feed(constraint, Tokens("nk>"));
        // Closed: only the section may follow.
        var after = Allowed(constraint);
        Assert.Equal([V.SectionBegin], Enumerable.Range(0, V.Size).Where(id => float.IsFinite(after[id])));
        var call = Walk(constraint, seed: 1);
        AssertCalls(call, firstIndex: 0);
    }

    [Fact]
    public void A_section_opened_inside_the_reasoning_ends_it_and_is_enforced()
    {
        var constraint = Enforcer.Create(new ChatConstraintOptions { ToolCalls = ToolCallMode.Auto, Tools = [Weather], ReasoningEnd = "</think>", FirstCallIndex = 3 });
        Feed(constraint, Tokens("<think>I need the weather"));
        Feed(constraint, [V.SectionBegin]);
        var next = Allowed(constraint);
        Assert.Equal([V.CallBegin], Enumerable.Range(0, V.Size).Where(id => float.IsFinite(next[id])));
        var rest = Walk(constraint, seed: 2);
        AssertCalls([V.SectionBegin, .. rest], firstIndex: 3);
    }

    [Fact]
    public void Response_format_applies_after_the_reasoning_and_not_inside_it()
    {
        var json = Enforcer.JsonSchema("""{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}""", strict: true);
        var constraint = Enforcer.Create(new ChatConstraintOptions { Content = json, ReasoningEnd = "</think>" });
        int letter = Tokens("Hmm")[0];
        Assert.True(float.IsFinite(Allowed(constraint)[letter]));
        Feed(constraint, Tokens("<think>Hmm, the user wants JSON.</think>"));
        var after = Allowed(constraint);
        Assert.True(float.IsNegativeInfinity(after[letter]));
        Assert.True(float.IsFinite(after[Tokens("{")[0]]));
        var rest = Walk(constraint, seed: 3);
        string text = Encoding.UTF8.GetString(rest.Where(id => id < V.FirstSpecial).SelectMany(id => V.Grammar.TokenBytes[id]!).ToArray());
        using var doc = JsonDocument.Parse(text);
        Assert.True(doc.RootElement.GetProperty("ok").ValueKind is JsonValueKind.True or JsonValueKind.False, text);
        Assert.Single(doc.RootElement.EnumerateObject());
    }

    [Fact]
    public void Without_tools_a_thinking_reply_never_opens_a_section()
    {
        var constraint = Enforcer.Create(new ChatConstraintOptions { ToolCalls = ToolCallMode.None, ReasoningEnd = "</think>" });
        Assert.True(float.IsNegativeInfinity(Allowed(constraint)[V.SectionBegin]));
        Feed(constraint, Tokens("<think>no tools</think>Hello"));
        Assert.True(float.IsNegativeInfinity(Allowed(constraint)[V.SectionBegin]));
        Assert.True(float.IsFinite(Allowed(constraint)[V.ImEnd]));
    }

    /// <summary>
    /// <paramref name="tokens"/> is one tool-call section of get_weather calls with ids counting from
    /// <paramref name="firstIndex"/> and valid arguments, then the end of generation.
    /// </summary>
    private static void AssertCalls(List<int> tokens, int firstIndex)
    {
        Assert.Equal(V.SectionBegin, tokens[0]);
        Assert.Contains(tokens[^1], V.Grammar.EndOfGeneration);
        Assert.Equal(V.SectionEnd, tokens[^2]);
        int index = firstIndex, i = 1;
        while (tokens[i] == V.CallBegin)
        {
            int argumentBegin = tokens.IndexOf(V.ArgumentBegin, i);
            int callEnd = tokens.IndexOf(V.CallEnd, argumentBegin);
            Assert.Equal($"functions.get_weather:{index++}", Text(tokens[(i + 1)..argumentBegin]));
            using var args = JsonDocument.Parse(Text(tokens[(argumentBegin + 1)..callEnd]));
            Assert.True(args.RootElement.GetProperty("city").GetString()!.Length <= 10);
            Assert.Single(args.RootElement.EnumerateObject());
            i = callEnd + 1;
        }
        Assert.True(index > firstIndex, "no call");
        Assert.Equal(tokens.Count - 2, i);
    }

    private static string Text(List<int> tokens) => Encoding.UTF8.GetString(tokens.SelectMany(id => V.Grammar.TokenBytes[id]!).ToArray());
}
