using KimiSharp.Grammar;
using KimiSharp.Tests.Text;
using KimiSharp.Text;

namespace KimiSharp.Tests.Grammar;

/// <summary>
/// A vocabulary the size and layout of Kimi-K2's: 163,584 byte-level BPE tokens (the lowest o200k_base ranks, a
/// tiktoken vocabulary of the same family as Kimi's) and 256 specials with Kimi's special tokens at their real ids
/// (<|im_end|> 163586, the tool-call markers 163595–163599 …). Built once per test run (about a second).
/// </summary>
internal static class KimiLikeVocabulary
{
    public const int Size = 163_840, FirstSpecial = 163_584, ImEnd = 163_586, Eos = 163_585, Eot = 163_593;
    public const int SectionBegin = 163_595, SectionEnd = 163_596, CallBegin = 163_597, ArgumentBegin = 163_598, CallEnd = 163_599;

    private static readonly Dictionary<int, (string Text, TokenType Type)> Specials = new()
    {
        [163_584] = ("[BOS]", TokenType.Control),
        [163_585] = ("[EOS]", TokenType.Control),
        [163_586] = ("<|im_end|>", TokenType.Control),
        [163_587] = ("<|im_user|>", TokenType.Control),
        [163_588] = ("<|im_assistant|>", TokenType.Control),
        [163_590] = ("<|start_header_id|>", TokenType.Control),
        [163_591] = ("<|end_header_id|>", TokenType.Control),
        [163_593] = ("[EOT]", TokenType.Control),
        [163_594] = ("<|im_system|>", TokenType.Control),
        [163_595] = ("<|tool_calls_section_begin|>", TokenType.UserDefined),
        [163_596] = ("<|tool_calls_section_end|>", TokenType.UserDefined),
        [163_597] = ("<|tool_call_begin|>", TokenType.UserDefined),
        [163_598] = ("<|tool_call_argument_begin|>", TokenType.UserDefined),
        [163_599] = ("<|tool_call_end|>", TokenType.UserDefined),
        [163_601] = ("<|im_middle|>", TokenType.Control),
        [163_839] = ("[PAD]", TokenType.Control),
    };

    private static readonly Lazy<TokenizerData> LazyData = new(BuildData);
    private static readonly Lazy<Tokenizer> LazyTokenizer = new(() => Tokenizer.Create(LazyData.Value));
    private static readonly Lazy<GrammarVocabulary> LazyGrammar = new(() => GrammarVocabulary.FromTokenizer(LazyTokenizer.Value));

    public static TokenizerData Data => LazyData.Value;
    public static Tokenizer Tokenizer => LazyTokenizer.Value;
    public static GrammarVocabulary Grammar => LazyGrammar.Value;

    private static TokenizerData BuildData()
    {
        var bpe = O200kVocabulary.Build("kimi-k2", FirstSpecial);
        var tokens = new string[Size];
        var types = new int[Size];
        Array.Copy(bpe.Tokens, tokens, FirstSpecial);
        Array.Copy(bpe.TokenTypes, types, FirstSpecial);
        for (int id = FirstSpecial; id < Size; id++)
        {
            var (text, type) = Specials.TryGetValue(id, out var s) ? s : ($"<|reserved_token_{id}|>", TokenType.Control);
            tokens[id] = text;
            types[id] = (int)type;
        }
        return new TokenizerData("gpt2", "kimi-k2", tokens, bpe.Merges, types, BosId: 163_584, EosId: ImEnd, PadId: 163_839, AddBos: false);
    }
}
