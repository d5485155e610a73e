namespace KimiSharp.Text;

/// <summary>
/// llama.cpp's pre-tokenizers for other BPE vocabularies: a chain of regex stages, each splitting every piece from
/// the previous stage into its matches and the gaps between them (std::regex_iterator semantics). Each stage is a
/// hand-written matcher that reproduces llama.cpp's behaviour, including its "collapsed" reading of Unicode
/// categories (ASCII keeps its own classes; non-ASCII code points are read by category, non-ASCII whitespace as \v).
/// </summary>
internal sealed class RegexChainPreTokenizer : PreTokenizer
{
    /// <summary>Length of the match at <paramref name="pos"/> within [.., end), 0 when the stage does not match there.</summary>
    internal delegate int Matcher(ReadOnlySpan<int> cps, int pos, int end);

    private readonly Matcher[] _stages;

    private RegexChainPreTokenizer(params Matcher[] stages) => _stages = stages;

    public static RegexChainPreTokenizer Gpt2() => new(LlamaMatchers.Gpt2);

    public static RegexChainPreTokenizer StarCoder() => new(LlamaMatchers.OneNumber, LlamaMatchers.Gpt2);

    public static RegexChainPreTokenizer Falcon() =>
        new(LlamaMatchers.FalconPunctuation, LlamaMatchers.Gpt2, LlamaMatchers.ThreeAsciiDigits);

    public static RegexChainPreTokenizer Default() =>
        new(LlamaMatchers.DefaultPunctuation, LlamaMatchers.Gpt2, LlamaMatchers.Numbers, LlamaMatchers.ThreeAsciiDigits);

    public static RegexChainPreTokenizer DeepSeekLlm() => new(
        LlamaMatchers.OneNewline, LlamaMatchers.DeepSeekLlmLetters, LlamaMatchers.DeepSeekLlmPunctuation,
        LlamaMatchers.TrailingWhitespace, LlamaMatchers.DeepSeekCjk, LlamaMatchers.Numbers);

    public static RegexChainPreTokenizer DeepSeekCoder() => new(
        LlamaMatchers.OneNewline, LlamaMatchers.SpaceLetters, LlamaMatchers.SpacePunctuation,
        LlamaMatchers.DeepSeekCjk, LlamaMatchers.OneNumber);

    public static RegexChainPreTokenizer DeepSeekV3() => new(
        LlamaMatchers.OneToThreeNumbers, LlamaMatchers.DeepSeekV3Cjk, LlamaMatchers.DeepSeekV3Main);

    public override void Split(ReadOnlySpan<char> text, List<int> pieceEnds)
    {
        // Code points and the UTF-16 offset where each starts (offsets[count] = text.Length).
        int[] cps = new int[text.Length];
        int[] offsets = new int[text.Length + 1];
        int count = 0;
        for (int i = 0; i < text.Length;)
        {
            offsets[count] = i;
            cps[count++] = CodePointAt(text, i, out int len);
            i += len;
        }
        offsets[count] = text.Length;
        ReadOnlySpan<int> span = cps.AsSpan(0, count);

        var ends = new List<int> { count };
        var next = new List<int>();
        foreach (Matcher stage in _stages)
        {
            next.Clear();
            int start = 0;
            foreach (int end in ends)
            {
                int pos = start, gapStart = start;
                while (pos < end)
                {
                    int len = stage(span, pos, end);
                    if (len <= 0)
                    {
                        pos++;
                        continue;
                    }
                    if (pos > gapStart) next.Add(pos);
                    pos += len;
                    next.Add(pos);
                    gapStart = pos;
                }
                if (gapStart < end) next.Add(end);
                start = end;
            }
            (ends, next) = (next, ends);
        }

        foreach (int end in ends) pieceEnds.Add(offsets[end]);
    }
}
