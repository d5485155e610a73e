namespace KimiSharp.Text;

/// <summary>
/// The regex stages of llama.cpp's non-Kimi BPE pre-tokenizers as hand-written matchers (each returns the length
/// of the leftmost-first match at a position, or 0). Class names follow llama.cpp's collapsed regex reading:
/// for ASCII, \p{L} = A-Za-z, \p{N} = 0-9, \p{P} = !-#%-*,-/:;?@[\]_{}, \p{S} = $+&lt;=&gt;^`| (so '~' is neither),
/// \p{M} = nothing; other code points by Unicode category; \s = ASCII whitespace and non-ASCII White_Space.
/// </summary>
internal static class LlamaMatchers
{
    private const string AsciiPunctuation = "!\"#%&'()*,-./:;?@[\\]_{}";
    private const string AsciiSymbols = "$+<=>^`|";

    private static byte Flags(int cp) => CodePointClass.Of(cp);

    private static bool IsWs(int cp) => cp < 128 ? cp is ' ' or '\t' or '\n' or '\v' or '\f' or '\r' : CodePointClass.IsWhiteSpace(cp);

    private static bool IsL(int cp) => cp < 128 ? char.IsAsciiLetter((char)cp) : !IsWs(cp) && (Flags(cp) & CodePointClass.Letter) != 0;

    private static bool IsN(int cp) => cp < 128 ? char.IsAsciiDigit((char)cp) : !IsWs(cp) && (Flags(cp) & CodePointClass.Number) != 0;

    private static bool IsP(int cp) => cp < 128 ? AsciiPunctuation.Contains((char)cp) : !IsWs(cp) && (Flags(cp) & CodePointClass.Punctuation) != 0;

    private static bool IsM(int cp) => cp >= 128 && !IsWs(cp) && (Flags(cp) & CodePointClass.Mark) != 0;

    private static bool IsS(int cp) => cp < 128 ? AsciiSymbols.Contains((char)cp) : !IsWs(cp) && IsUnicodeSymbol(cp);

    private static bool IsUnicodeSymbol(int cp) => System.Globalization.CharUnicodeInfo.GetUnicodeCategory(cp) is
        System.Globalization.UnicodeCategory.MathSymbol or System.Globalization.UnicodeCategory.CurrencySymbol or
        System.Globalization.UnicodeCategory.ModifierSymbol or System.Globalization.UnicodeCategory.OtherSymbol;

    /// <summary>Unicode-category letter/number/whitespace as llama.cpp's custom splitters read them (no collapsing).</summary>
    private static bool UL(int cp) => (Flags(cp) & CodePointClass.Letter) != 0;
    private static bool UN(int cp) => (Flags(cp) & CodePointClass.Number) != 0;
    private static bool UWs(int cp) => CodePointClass.IsWhiteSpace(cp);

    private static int Run(ReadOnlySpan<int> cps, int pos, int end, Func<int, bool> inClass)
    {
        int q = pos;
        while (q < end && inClass(cps[q])) q++;
        return q - pos;
    }

    /// <summary>llama.cpp's hand-written GPT-2 split: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</summary>
    public static int Gpt2(ReadOnlySpan<int> cps, int pos, int end)
    {
        int cp = cps[pos];
        if (cp == '\'' && pos + 1 < end)
        {
            int a = cps[pos + 1];
            if (a is 's' or 't' or 'm' or 'd') return 2;
            if (pos + 2 < end)
            {
                int b = cps[pos + 2];
                if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
            }
        }
        int lead = cp == ' ' && pos + 1 < end ? 1 : 0;
        int c2 = lead == 1 ? cps[pos + 1] : cp;
        bool atEnd = cp == ' ' && pos + 1 >= end;
        if (!atEnd)
        {
            if (UL(c2)) return lead + Run(cps, pos + lead, end, UL);
            if (UN(c2)) return lead + Run(cps, pos + lead, end, UN);
            if (!(UWs(c2) || UL(c2) || UN(c2)))
                return lead + Run(cps, pos + lead, end, c => !(UWs(c) || UL(c) || UN(c)));
        }
        int ws = Run(cps, pos, end, UWs);
        if (ws > 1 && pos + ws < end) return ws - 1;
        if (ws > 0) return ws;
        return 1;
    }

    /// <summary>\p{N} (one number).</summary>
    public static int OneNumber(ReadOnlySpan<int> cps, int pos, int end) => IsN(cps[pos]) ? 1 : 0;

    /// <summary>\p{N}+</summary>
    public static int Numbers(ReadOnlySpan<int> cps, int pos, int end) => Run(cps, pos, end, IsN);

    /// <summary>\p{N}{1,3}</summary>
    public static int OneToThreeNumbers(ReadOnlySpan<int> cps, int pos, int end) => Math.Min(3, Run(cps, pos, end, IsN));

    /// <summary>[0-9][0-9][0-9] (std::wregex, literal ASCII digits).</summary>
    public static int ThreeAsciiDigits(ReadOnlySpan<int> cps, int pos, int end) =>
        pos + 3 <= end && char.IsAsciiDigit((char)Math.Min(cps[pos], 0xFFFF)) && cps[pos] < 128 &&
        cps[pos + 1] < 128 && char.IsAsciiDigit((char)cps[pos + 1]) && cps[pos + 2] < 128 && char.IsAsciiDigit((char)cps[pos + 2]) ? 3 : 0;

    /// <summary>[\p{P}\$\+&lt;=&gt;\^~\|`]+ (falcon)</summary>
    public static int FalconPunctuation(ReadOnlySpan<int> cps, int pos, int end) =>
        Run(cps, pos, end, c => IsP(c) || c is '$' or '+' or '<' or '=' or '>' or '^' or '~' or '|' or '`');

    /// <summary>[\p{P}\$\+&lt;=&gt;\^~\|]+ (llama.cpp's default)</summary>
    public static int DefaultPunctuation(ReadOnlySpan<int> cps, int pos, int end) =>
        Run(cps, pos, end, c => IsP(c) || c is '$' or '+' or '<' or '=' or '>' or '^' or '~' or '|');

    /// <summary>[\r\n]</summary>
    public static int OneNewline(ReadOnlySpan<int> cps, int pos, int end) => cps[pos] is '\r' or '\n' ? 1 : 0;

    /// <summary>\s?X+ with backtracking over the optional whitespace.</summary>
    private static int SpaceThenRun(ReadOnlySpan<int> cps, int pos, int end, Func<int, bool> ws, Func<int, bool> inClass)
    {
        if (ws(cps[pos]) && pos + 1 < end && inClass(cps[pos + 1])) return 1 + Run(cps, pos + 1, end, inClass);
        return Run(cps, pos, end, inClass);
    }

    /// <summary>\s?\p{L}+ (deepseek-coder)</summary>
    public static int SpaceLetters(ReadOnlySpan<int> cps, int pos, int end) => SpaceThenRun(cps, pos, end, IsWs, IsL);

    /// <summary>\s?\p{P}+ (deepseek-coder)</summary>
    public static int SpacePunctuation(ReadOnlySpan<int> cps, int pos, int end) => SpaceThenRun(cps, pos, end, IsWs, IsP);

    /// <summary>\s+$ : the whitespace run that ends the piece.</summary>
    public static int TrailingWhitespace(ReadOnlySpan<int> cps, int pos, int end)
    {
        int run = Run(cps, pos, end, IsWs);
        return run > 0 && pos + run == end ? run : 0;
    }

    // std::wregex stages compare code points, after llama.cpp replaced non-ASCII whitespace by \v.
    private static int W(int cp) => cp > 0x7F && CodePointClass.IsWhiteSpace(cp) ? 0x0B : cp;

    // Ω, K and ι below are U+2126 OHM SIGN, U+212A KELVIN SIGN and U+1FBE (escaped: text tools normalise them to Ω K ι).
    private static readonly int[] DeepSeekLlmLetterRanges = CharRanges.Parse(
        "A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ\U00010400-\U0001044F𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃");

    private static readonly int[] DeepSeekLlmPunctuationRanges = CharRanges.Parse("!-/:-~！-／：-～‘-‟　-。");
    private static readonly int[] DeepSeekCjkRanges = CharRanges.Parse("一-龥ࠀ-一가-퟿");
    private static readonly int[] DeepSeekV3CjkRanges = CharRanges.Parse("一-龥぀-ゟ゠-ヿ");

    private static bool WsW(int cp) => W(cp) is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    /// <summary>\s?[A-Za-zµÀ-Ö…]+ (deepseek-llm, std::wregex)</summary>
    public static int DeepSeekLlmLetters(ReadOnlySpan<int> cps, int pos, int end) =>
        SpaceThenRun(cps, pos, end, WsW, c => CharRanges.Contains(DeepSeekLlmLetterRanges, W(c)));

    /// <summary>\s?[!-/:-~！-／：-～‘-‟　-。]+ (deepseek-llm, std::wregex)</summary>
    public static int DeepSeekLlmPunctuation(ReadOnlySpan<int> cps, int pos, int end) =>
        SpaceThenRun(cps, pos, end, WsW, c => CharRanges.Contains(DeepSeekLlmPunctuationRanges, W(c)));

    /// <summary>[一-龥ࠀ-一가-퟿]+ (deepseek-llm and deepseek-coder, std::wregex)</summary>
    public static int DeepSeekCjk(ReadOnlySpan<int> cps, int pos, int end) =>
        Run(cps, pos, end, c => CharRanges.Contains(DeepSeekCjkRanges, W(c)));

    /// <summary>[一-龥぀-ゟ゠-ヿ]+ (deepseek-v3, std::wregex)</summary>
    public static int DeepSeekV3Cjk(ReadOnlySpan<int> cps, int pos, int end) =>
        Run(cps, pos, end, c => CharRanges.Contains(DeepSeekV3CjkRanges, W(c)));

    /// <summary>
    /// deepseek-v3's main stage:
    /// [!"#$%&amp;'()*+,\-./:;&lt;=&gt;?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    /// </summary>
    public static int DeepSeekV3Main(ReadOnlySpan<int> cps, int pos, int end)
    {
        int cp = cps[pos];
        if (cp is (>= 0x21 and <= 0x2F) or (>= 0x3A and <= 0x40) or (>= 0x5B and <= 0x60) or (>= 0x7B and <= 0x7E))
        {
            int letters = Run(cps, pos + 1, end, c => c < 128 && char.IsAsciiLetter((char)c));
            if (letters > 0) return 1 + letters;
        }

        static bool LM(int c) => IsL(c) || IsM(c);
        bool leadOk = cp != '\r' && cp != '\n' && !IsL(cp) && !IsP(cp) && !IsS(cp);
        if (leadOk && pos + 1 < end && LM(cps[pos + 1])) return 1 + Run(cps, pos + 1, end, LM);
        if (LM(cp)) return Run(cps, pos, end, LM);

        static bool PS(int c) => IsP(c) || IsS(c);
        if (cp == ' ' && pos + 1 < end && PS(cps[pos + 1])) return 1 + Run(cps, pos + 1, end, PS) + NewlinesAfter(cps, pos + 1 + Run(cps, pos + 1, end, PS), end);
        if (PS(cp))
        {
            int run = Run(cps, pos, end, PS);
            return run + NewlinesAfter(cps, pos + run, end);
        }

        return Whitespace(cps, pos, end);
    }

    private static int NewlinesAfter(ReadOnlySpan<int> cps, int q, int end) => Run(cps, q, end, c => c is '\r' or '\n');

    /// <summary>\s*[\r\n]+|\s+(?!\S)|\s+ with \s = IsWs.</summary>
    private static int Whitespace(ReadOnlySpan<int> cps, int pos, int end)
    {
        int q = pos, afterLastNewline = -1;
        while (q < end && IsWs(cps[q]))
        {
            if (cps[q] is '\r' or '\n') afterLastNewline = q + 1;
            q++;
        }
        if (afterLastNewline > 0) return afterLastNewline - pos;
        int run = q - pos;
        if (run > 1 && q < end) return run - 1;
        return run;
    }
}
