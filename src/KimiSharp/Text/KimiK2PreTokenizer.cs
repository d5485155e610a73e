namespace KimiSharp.Text;

/// <summary>
/// Kimi-K2's split, a hand-written scanner that behaves exactly like tiktoken's (leftmost-first, backtracking)
/// matching of the pattern in Moonshot's tokenization_kimi.py, alternatives tried in order at each position:
/// <code>
/// 1 [\p{Han}]+
/// 2 [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&amp;&amp;[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&amp;&amp;[^\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
/// 3 [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&amp;&amp;[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&amp;&amp;[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
/// 4 \p{N}{1,3}
/// 5  ?[^\s\p{L}\p{N}]+[\r\n]*
/// 6 \s*[\r\n]+
/// 7 \s+(?!\S)
/// 8 \s+
/// </code>
/// Unlike llama.cpp's kimi-k2 handler it keeps alternatives 2 and 3 apart (so "helloWorld" is "hello" "World"),
/// treats combining marks as letters, and uses the full Unicode Script=Han set.
/// </summary>
internal sealed class KimiK2PreTokenizer : PreTokenizer
{
    private const byte L = CodePointClass.Letter, N = CodePointClass.Number, Ws = CodePointClass.Whitespace;

    public override bool WholePieceLookup => true;

    public override void Split(ReadOnlySpan<char> s, List<int> ends)
    {
        int n = s.Length;
        int p = 0;
        while (p < n)
        {
            int cp0 = CodePointAt(s, p, out int len0);
            byte c0 = CodePointClass.Of(cp0);

            // 1: a run of Han.
            if ((c0 & CodePointClass.Han) != 0)
            {
                int q = p + len0;
                while (q < n)
                {
                    int cp = CodePointAt(s, q, out int l);
                    if ((CodePointClass.Of(cp) & CodePointClass.Han) == 0) break;
                    q += l;
                }
                ends.Add(p = q);
                continue;
            }

            // 2 and 3: letter words (upper-ish run + lower-ish run), optional leading char and contraction.
            bool leadOk = cp0 != '\r' && cp0 != '\n' && (c0 & (L | N)) == 0;
            int end = MatchWord(s, p, len0, leadOk);
            if (end > 0)
            {
                ends.Add(p = end);
                continue;
            }

            // 4: one to three numbers.
            if ((c0 & N) != 0)
            {
                int q = p + len0;
                for (int k = 1; k < 3 && q < n; k++)
                {
                    int cp = CodePointAt(s, q, out int l);
                    if ((CodePointClass.Of(cp) & N) == 0) break;
                    q += l;
                }
                ends.Add(p = q);
                continue;
            }

            // 5: optional space, run of non-space/letter/number, trailing CR/LF.
            int start5 = -1;
            if (cp0 == ' ' && p + 1 < n && IsOther(s, p + 1)) start5 = p + 1;
            else if ((c0 & (Ws | L | N)) == 0) start5 = p;
            if (start5 >= 0)
            {
                int q = start5;
                while (q < n)
                {
                    int cp = CodePointAt(s, q, out int l);
                    if ((CodePointClass.Of(cp) & (Ws | L | N)) != 0) break;
                    q += l;
                }
                while (q < n && (s[q] == '\r' || s[q] == '\n')) q++;
                ends.Add(p = q);
                continue;
            }

            // 6–8: whitespace (all White_Space characters are in the BMP).
            if ((c0 & Ws) != 0)
            {
                int q = p;
                int afterLastNewline = -1;
                while (q < n && (CodePointClass.Of(s[q]) & Ws) != 0 && !char.IsSurrogate(s[q]))
                {
                    if (s[q] == '\r' || s[q] == '\n') afterLastNewline = q + 1;
                    q++;
                }
                if (afterLastNewline > 0) end = afterLastNewline;         // 6: \s*[\r\n]+
                else if (q < n && q - p > 1) end = q - 1;                   // 7: \s+(?!\S) leaves one space
                else end = q;                                               // 8: \s+
                ends.Add(p = end);
                continue;
            }

            // Unreachable for valid classes; keep progress.
            ends.Add(p += len0);
        }
    }

    private static bool IsOther(ReadOnlySpan<char> s, int i) =>
        (CodePointClass.Of(CodePointAt(s, i, out _)) & (Ws | L | N)) == 0;

    private static bool IsUpper(byte c) => (c & (CodePointClass.UpperLike | CodePointClass.Han)) == CodePointClass.UpperLike;
    private static bool IsLower(byte c) => (c & (CodePointClass.LowerLike | CodePointClass.Han)) == CodePointClass.LowerLike;

    /// <summary>End of alternative 2 or 3 at <paramref name="p"/>, or 0 when neither matches.</summary>
    private static int MatchWord(ReadOnlySpan<char> s, int p, int len0, bool leadOk)
    {
        // Alternative 2 (with the leading char first, then without), then alternative 3 likewise.
        if (leadOk)
        {
            int e = MatchUpperStarLowerPlus(s, p + len0);
            if (e > 0) return e;
        }
        int e2 = MatchUpperStarLowerPlus(s, p);
        if (e2 > 0) return e2;
        if (leadOk)
        {
            int e = MatchUpperPlusLowerStar(s, p + len0);
            if (e > 0) return e;
        }
        return MatchUpperPlusLowerStar(s, p);
    }

    /// <summary>U* L+ contraction? at <paramref name="start"/> (U* backtracks so that L+ can match); 0 if no match.</summary>
    private static int MatchUpperStarLowerPlus(ReadOnlySpan<char> s, int start)
    {
        int n = s.Length;
        int q = start;
        int lastBoth = -1; // start of the last char in the U run that is also lower-ish (U* may give it back)
        byte c = 0;
        int cp = 0, l = 0;
        while (q < n)
        {
            cp = CodePointAt(s, q, out l);
            c = CodePointClass.Of(cp);
            if (!IsUpper(c)) break;
            if (IsLower(c)) lastBoth = q;
            q += l;
        }
        int lowerStart;
        if (q < n && IsLower(c)) lowerStart = q;
        else if (lastBoth >= 0) lowerStart = lastBoth;
        else return 0;

        q = lowerStart;
        while (q < n)
        {
            cp = CodePointAt(s, q, out l);
            if (!IsLower(CodePointClass.Of(cp))) break;
            q += l;
        }
        return Contraction(s, q);
    }

    /// <summary>U+ L* contraction? at <paramref name="start"/>; 0 if no match.</summary>
    private static int MatchUpperPlusLowerStar(ReadOnlySpan<char> s, int start)
    {
        int n = s.Length;
        int q = start;
        while (q < n)
        {
            int cp = CodePointAt(s, q, out int l);
            if (!IsUpper(CodePointClass.Of(cp))) break;
            q += l;
        }
        if (q == start) return 0;
        while (q < n)
        {
            int cp = CodePointAt(s, q, out int l);
            if (!IsLower(CodePointClass.Of(cp))) break;
            q += l;
        }
        return Contraction(s, q);
    }

    /// <summary>(?i:'s|'t|'re|'ve|'m|'ll|'d)? after <paramref name="q"/>; case folding maps ſ (U+017F) to s.</summary>
    private static int Contraction(ReadOnlySpan<char> s, int q)
    {
        if (q + 1 >= s.Length || s[q] != '\'') return q;
        char a = s[q + 1];
        if (a is 's' or 'S' or '\u017F' or 't' or 'T' or 'm' or 'M' or 'd' or 'D') return q + 2;
        if (q + 2 < s.Length)
        {
            char b = s[q + 2];
            if ((a is 'r' or 'R' or 'v' or 'V') && b is 'e' or 'E') return q + 3;
            if (a is 'l' or 'L' && b is 'l' or 'L') return q + 3;
        }
        return q;
    }
}
