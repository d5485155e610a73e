using KimiSharp.Text;

namespace KimiSharp.TestModels;

/// <summary>
/// The test vocabulary laid out at Kimi-K2's real size, for test models with Kimi's exact tensor shapes: 163,840 tokens
/// = 163,584 regular ids (the 256 byte tokens and <see cref="TestVocabulary"/>'s learned merges, then unused fillers
/// standing in for the rest of Kimi's BPE ranks) + 256 reserved specials with Kimi's special tokens at their real ids
/// ([BOS] 163584, &lt;|im_end|&gt; 163586, the tool-call markers 163595–163599, &lt;|im_middle|&gt; 163601, [PAD] 163839 …).
/// Token embedding and output matrices are therefore Kimi's {7168, 163840}, and prompts tokenize as with the small
/// test vocabulary, specials included.
/// </summary>
public static class KimiVocabulary
{
    public const int Size = 163_840;
    public const int FirstSpecial = 163_584;
    public const int BosId = 163_584;
    public const int ImEndId = 163_586;
    public const int PadId = 163_839;

    /// <summary>Kimi-K2's special tokens by id (tokenizer_config: the five tool-call markers are not "special").</summary>
    public static IReadOnlyDictionary<int, (string Text, TokenType Type)> Specials { get; } = new Dictionary<int, (string, TokenType)>
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
        [163_602] = ("<|media_begin|>", TokenType.Control),
        [163_603] = ("<|media_content|>", TokenType.Control),
        [163_604] = ("<|media_end|>", TokenType.Control),
        [163_605] = ("<|media_pad|>", TokenType.Control),
        [163_838] = ("[UNK]", TokenType.Control),
        [163_839] = ("[PAD]", TokenType.Control),
    };

    public static TokenizerData Build()
    {
        var small = TestVocabulary.Build();
        int regular = 256 + small.Merges.Length; // byte tokens, then one token per merge
        var tokens = new string[Size];
        var types = new int[Size];
        Array.Copy(small.Tokens, tokens, regular);
        Array.Copy(small.TokenTypes, types, regular);
        for (int id = regular; id < FirstSpecial; id++)
        {
            tokens[id] = $"[PAD{id}]";
            types[id] = (int)TokenType.Unused;
        }
        for (int id = FirstSpecial; id < Size; id++)
        {
            var (text, type) = Specials.TryGetValue(id, out var special) ? special : ($"<|reserved_token_{id}|>", TokenType.Control);
            tokens[id] = text;
            types[id] = (int)type;
        }
        // EOS is <|im_end|>, as in Unsloth's Kimi GGUFs (and the small test vocabulary).
        return new TokenizerData(small.Model, small.Pre, tokens, small.Merges, types, BosId, ImEndId, PadId, AddBos: false);
    }
}
