namespace KimiSharp.Text;

/// <summary>Finds control and user-defined token texts in a string (leftmost occurrence, longest token at it).</summary>
internal sealed class SpecialTokenMatcher
{
    private readonly (string Text, int Id)[] _tokens; // longest first
    private readonly string _firstChars;

    public SpecialTokenMatcher(string[] tokens, TokenType[] types)
    {
        var list = new List<(string, int)>();
        for (int id = 0; id < tokens.Length; id++)
        {
            if (types[id] is TokenType.Control or TokenType.UserDefined && tokens[id].Length > 0)
                list.Add((tokens[id], id));
        }
        _tokens = list.OrderByDescending(t => t.Item1.Length).ThenBy(t => t.Item2).ToArray();
        _firstChars = new string(_tokens.Select(t => t.Text[0]).Distinct().ToArray());
    }

    public bool IsEmpty => _tokens.Length == 0;

    /// <summary>Index of the next special token at or after <paramref name="start"/>, or -1.</summary>
    public int FindNext(ReadOnlySpan<char> text, int start, out int id, out int length)
    {
        int i = start;
        while (i < text.Length)
        {
            int rel = text[i..].IndexOfAny(_firstChars);
            if (rel < 0) break;
            i += rel;
            ReadOnlySpan<char> rest = text[i..];
            foreach (var (token, tokenId) in _tokens)
            {
                if (rest.StartsWith(token, StringComparison.Ordinal))
                {
                    id = tokenId;
                    length = token.Length;
                    return i;
                }
            }
            i++;
        }
        id = -1;
        length = 0;
        return -1;
    }
}
