using KimiSharp.Text;

namespace KimiSharp.Chat;

/// <summary>
/// Which generated tokens may show as text. Control tokens (role markers such as <c>&lt;|im_user|&gt;</c>, BOS,
/// padding) never do, as with llama.cpp's defaults. Chat answers also hide user-defined tokens, except the ones
/// the output parsers read: Kimi's tool-call markers (they become tool calls) and, for a thinking model,
/// <c>&lt;think&gt;</c>/<c>&lt;/think&gt;</c>. Raw completions keep user-defined tokens as text, as llama.cpp does.
/// End-of-generation tokens never get this far: the engine stops on them.
/// </summary>
public sealed class SpecialTokenFilter
{
    private readonly bool[] _hidden;
    private readonly string[] _texts;

    private SpecialTokenFilter(bool[] hidden, string[] texts)
    {
        _hidden = hidden;
        _texts = texts;
    }

    /// <summary>The filter for chat answers; <paramref name="reasons"/>: the template is a thinking model's.</summary>
    public static SpecialTokenFilter ForChat(Tokenizer tokenizer, bool reasons)
    {
        var parsed = new HashSet<string>(StringComparer.Ordinal)
        {
            ToolCallParser.SectionBegin, ToolCallParser.SectionBeginSingular, ToolCallParser.SectionEnd, ToolCallParser.SectionEndSingular,
            ToolCallParser.CallBegin, ToolCallParser.ArgumentBegin, ToolCallParser.CallEnd,
        };
        if (reasons)
        {
            parsed.Add(ReasoningParser.Open);
            parsed.Add(ReasoningParser.Close);
        }

        return Build(tokenizer, (type, text) => type is TokenType.Control or TokenType.UserDefined or TokenType.Unused && !parsed.Contains(text));
    }

    /// <summary>The filter for raw completions: control and unused tokens are hidden.</summary>
    public static SpecialTokenFilter ForRaw(Tokenizer tokenizer) =>
        Build(tokenizer, (type, _) => type is TokenType.Control or TokenType.Unused);

    private static SpecialTokenFilter Build(Tokenizer tokenizer, Func<TokenType, string, bool> hide)
    {
        var hidden = new bool[tokenizer.VocabSize];
        var texts = new string[tokenizer.VocabSize];
        for (int id = 0; id < hidden.Length; id++)
        {
            texts[id] = tokenizer.TokenText(id);
            hidden[id] = hide(tokenizer.GetTokenType(id), texts[id]);
        }

        return new SpecialTokenFilter(hidden, texts);
    }

    public bool Hides(int tokenId) => (uint)tokenId < (uint)_hidden.Length && _hidden[tokenId];

    /// <summary>
    /// The text released with <paramref name="tokenId"/>, without the token's own text when it is hidden (text
    /// released with it that belongs to earlier tokens, e.g. the rest of a UTF-8 character, stays).
    /// </summary>
    public string Apply(int tokenId, string released)
    {
        if (!Hides(tokenId))
            return released;
        var text = _texts[tokenId];
        return released.EndsWith(text, StringComparison.Ordinal) ? released[..^text.Length] : released;
    }
}
