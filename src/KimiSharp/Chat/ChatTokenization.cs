using System.Runtime.CompilerServices;
using KimiSharp.Text;

namespace KimiSharp.Chat;

/// <summary>
/// Tokenizes a <see cref="FormattedPrompt"/>: control/user-defined token texts are recognised only inside
/// template segments; message content is plain text even when it spells "&lt;|im_end|&gt;". Text between
/// special tokens is encoded as one run across segment boundaries, so a prompt without such injected text gets
/// exactly the ids of <c>tokenizer.Encode(prompt.Text, parseSpecial: true)</c> (what llama.cpp and Hugging Face do).
/// BOS is prepended when the tokenizer asks for it and the template did not already emit it.
/// </summary>
public static class ChatTokenization
{
    private static readonly ConditionalWeakTable<Tokenizer, SpecialTokenMatcher> Matchers = [];

    public static int[] Encode(Tokenizer tokenizer, FormattedPrompt prompt)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(prompt);
        var matcher = Matchers.GetValue(tokenizer, BuildMatcher);
        string text = prompt.Text;
        var ids = new List<int>(text.Length / 3 + 8);
        int runStart = 0; // start of the plain text not yet encoded
        int offset = 0;
        foreach (var segment in prompt.Segments)
        {
            if (segment.IsTemplateText && !matcher.IsEmpty)
            {
                int pos = 0;
                while (true)
                {
                    int at = matcher.FindNext(segment.Text.AsSpan(), pos, out int id, out int length);
                    if (at < 0) break;
                    tokenizer.Encode(text.AsSpan(runStart, offset + at - runStart), parseSpecial: false, ids);
                    ids.Add(id);
                    pos = at + length;
                    runStart = offset + pos;
                }
            }
            offset += segment.Text.Length;
        }
        if (offset != text.Length) throw new ArgumentException("prompt segments do not add up to the prompt text", nameof(prompt));
        tokenizer.Encode(text.AsSpan(runStart), parseSpecial: false, ids);
        if (tokenizer.AddBos && (ids.Count == 0 || ids[0] != tokenizer.BosId)) ids.Insert(0, tokenizer.BosId);
        return [.. ids];
    }

    private static SpecialTokenMatcher BuildMatcher(Tokenizer tokenizer)
    {
        var tokens = new string[tokenizer.VocabSize];
        var types = new TokenType[tokenizer.VocabSize];
        for (int id = 0; id < tokens.Length; id++)
        {
            types[id] = tokenizer.GetTokenType(id);
            tokens[id] = types[id] is TokenType.Control or TokenType.UserDefined ? tokenizer.TokenText(id) : "";
        }
        return new SpecialTokenMatcher(tokens, types);
    }
}
