namespace KimiSharp.Chat;

/// <summary>
/// For streaming parsers that must hold back text which may be the start of a marker (a stop string, a tool-call
/// token, <c>&lt;/think&gt;</c>) until the next piece decides it.
/// </summary>
public static class PartialMatch
{
    /// <summary>Length of the longest suffix of <paramref name="text"/> that is a proper prefix of one of <paramref name="markers"/>.</summary>
    public static int HeldSuffixLength(ReadOnlySpan<char> text, IReadOnlyList<string> markers)
    {
        int best = 0;
        foreach (var marker in markers)
        {
            for (int length = Math.Min(marker.Length - 1, text.Length); length > best; length--)
            {
                if (text[^length..].SequenceEqual(marker.AsSpan(0, length)))
                {
                    best = length;
                    break;
                }
            }
        }

        return best;
    }
}
