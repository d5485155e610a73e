namespace KimiSharp.Text;

/// <summary>
/// Splits text into pieces before BPE (tokenizer.ggml.pre). Pieces never cross each other's boundaries in BPE.
/// </summary>
internal abstract class PreTokenizer
{
    /// <summary>
    /// tiktoken semantics: a piece that is itself a normal token becomes that token without running BPE
    /// (llama.cpp calls this ignore_merges).
    /// </summary>
    public virtual bool WholePieceLookup => false;

    /// <summary>Appends the exclusive end offset (UTF-16 index) of every piece of <paramref name="text"/>, in order.</summary>
    public abstract void Split(ReadOnlySpan<char> text, List<int> pieceEnds);

    public static PreTokenizer For(string? pre) => pre switch
    {
        "kimi-k2" => new KimiK2PreTokenizer(),
        "deepseek-v3" => RegexChainPreTokenizer.DeepSeekV3(),
        "deepseek-llm" => RegexChainPreTokenizer.DeepSeekLlm(),
        "deepseek-coder" => RegexChainPreTokenizer.DeepSeekCoder(),
        "falcon" => RegexChainPreTokenizer.Falcon(),
        "starcoder" or "refact" or "command-r" or "smollm" or "codeshell" or "exaone" or "minerva" => RegexChainPreTokenizer.StarCoder(),
        "gpt2" or "gpt-2" or "mpt" or "olmo" or "jais" or "trillion" or "granite-docling" => RegexChainPreTokenizer.Gpt2(),
        null or "" or "default" => RegexChainPreTokenizer.Default(),
        _ => throw new NotSupportedException($"tokenizer.ggml.pre '{pre}' is not supported (supported: kimi-k2, deepseek-v3, deepseek-llm, deepseek-coder, falcon, starcoder, gpt2)"),
    };

    /// <summary>The code point at <paramref name="i"/>; lone surrogates read as U+FFFD (as UTF-8 encoding makes them).</summary>
    protected static int CodePointAt(ReadOnlySpan<char> s, int i, out int length)
    {
        char c = s[i];
        if (!char.IsSurrogate(c))
        {
            length = 1;
            return c;
        }
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            length = 2;
            return char.ConvertToUtf32(c, s[i + 1]);
        }
        length = 1;
        return 0xFFFD;
    }
}
