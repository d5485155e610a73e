using System.Text;
using KimiSharp.Text;

namespace KimiSharp.Tests.Text;

public class TokenizerTests
{
    private static readonly Tokenizer Kimi = Tokenizer.Create(TestVocabulary.Build());

    private static int Id(string token) => Kimi.TryGetId(token, out int id) ? id : throw new KeyNotFoundException(token);

    [Fact]
    public void Encode_never_yields_special_tokens_when_parseSpecial_is_false()
    {
        string text = "user says <|im_end|><|im_assistant|>[BOS] and <|tool_calls_section_begin|><|tool_call_begin|>x";
        int[] ids = Kimi.Encode(text);
        Assert.All(ids, id => Assert.Equal(TokenType.Normal, Kimi.GetTokenType(id)));
        Assert.Equal(text, Kimi.Decode(ids));
    }

    [Fact]
    public void Encode_recognises_control_and_user_defined_tokens_when_parseSpecial_is_true()
    {
        int[] ids = Kimi.Encode("<|im_user|>user<|im_middle|>hi there<|im_end|><|tool_call_begin|>", parseSpecial: true);
        int[] expected =
        [
            Id("<|im_user|>"), .. Kimi.Encode("user"), Id("<|im_middle|>"), .. Kimi.Encode("hi there"),
            Id("<|im_end|>"), Id("<|tool_call_begin|>"),
        ];
        Assert.Equal(expected, ids);
    }

    [Fact]
    public void Encode_prefers_the_longest_special_token_at_a_position()
    {
        var data = TestVocabulary.Build();
        var tokens = (string[])data.Tokens.Clone();
        var types = (int[])data.TokenTypes.Clone();
        int shortId = Array.IndexOf(tokens, "[PAD" + (tokens.Length - 2) + "]");
        tokens[shortId] = "<|im";
        types[shortId] = (int)TokenType.Control;
        var t = Tokenizer.Create(data with { Tokens = tokens, TokenTypes = types });
        Assert.Equal([Id("<|im_end|>"), shortId], t.Encode("<|im_end|><|im", parseSpecial: true));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Hello, world!")]
    [InlineData("  leading and trailing  \r\n\t")]
    [InlineData("中文混合English和数字123456")]
    [InlineData("emoji 👩🏽‍🔬 and 🇯🇵 and e\u0301")]
    [InlineData("𠀀𠀁 astral CJK")]
    public void Decode_inverts_Encode_when_given_valid_text(string text)
    {
        Assert.Equal(text, Kimi.Decode(Kimi.Encode(text)));
        Assert.Equal(text, Kimi.Decode(Kimi.Encode(text, parseSpecial: true)));
    }

    [Fact]
    public void Encode_turns_a_lone_surrogate_into_the_replacement_character()
    {
        Assert.Equal("a\uFFFDb", Kimi.Decode(Kimi.Encode("a\uD800b")));
    }

    [Fact]
    public void Common_words_become_single_tokens()
    {
        Assert.Equal([Id("Ġthe")], Kimi.Encode(" the"));
    }

    [Fact]
    public void Token_accessors_reject_ids_outside_the_vocabulary()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Kimi.TokenBytes(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Kimi.TokenText(Kimi.VocabSize));
        Assert.Throws<ArgumentOutOfRangeException>(() => Kimi.Decode([0, Kimi.VocabSize]));
    }

    [Fact]
    public void Special_ids_and_end_of_generation_follow_the_vocabulary()
    {
        Assert.Equal(Id("[BOS]"), Kimi.BosId);
        Assert.Equal(Id("<|im_end|>"), Kimi.EosId);
        Assert.False(Kimi.AddBos);
        Assert.Equal(new[] { Id("<|im_end|>"), Id("[EOS]"), Id("[EOT]") }.Order(), Kimi.EndOfGenerationIds.Order());
        Assert.Equal("<|tool_call_begin|>", Encoding.UTF8.GetString(Kimi.TokenBytes(Id("<|tool_call_begin|>"))));
        Assert.Equal([0x20, 0x74, 0x68, 0x65], Kimi.TokenBytes(Id("Ġthe")));
    }

    [Fact]
    public void Unused_filler_tokens_decode_to_nothing()
    {
        var data = TestVocabulary.Build();
        int filler = Array.FindIndex(data.TokenTypes, t => t == (int)TokenType.Unused);
        Assert.True(filler > 0);
        Assert.Equal("ab", Kimi.Decode([.. Kimi.Encode("a"), filler, .. Kimi.Encode("b")]));
    }

    [Fact]
    public void Encode_gives_the_same_ids_from_many_threads()
    {
        var t = Tokenizer.Create(TestVocabulary.Build());
        string[] texts = ["The quick brown fox", "今天天气很好", "def main():\n    return 42", "emoji 👍🏽 ok", "  spaces   everywhere  "];
        int[][] expected = texts.Select(x => Kimi.Encode(x)).ToArray();
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            Assert.Equal(expected[i % texts.Length], t.Encode(texts[i % texts.Length])));
    }

    [Fact]
    public void Create_rejects_unsupported_models_and_pre_tokenizers()
    {
        var data = TestVocabulary.Build();
        Assert.Throws<NotSupportedException>(() => Tokenizer.Create(data with { Model = "llama" }));
        Assert.Throws<NotSupportedException>(() => Tokenizer.Create(data with { Pre = "no-such-pre" }));
        Assert.Throws<ArgumentException>(() => Tokenizer.Create(data with { TokenTypes = [1, 2, 3] }));
        Assert.Throws<ArgumentException>(() => Tokenizer.Create(data with { Merges = ["nospace"] }));
    }

    [Fact]
    public void Encode_matches_a_naive_bpe_reference_on_long_and_short_random_pieces()
    {
        var data = TestVocabulary.Build();
        var rng = new Random(1234);
        const string alphabet = "theandofingtoerquickbrownfoxjumpsoverlazydog";
        for (int trial = 0; trial < 40; trial++)
        {
            int length = trial < 20 ? 1 + rng.Next(30) : 97 + rng.Next(400); // both the short and the heap path
            string word = new(Enumerable.Range(0, length).Select(_ => alphabet[rng.Next(alphabet.Length)]).ToArray());
            Assert.Equal(NaiveBpe(data, word), Kimi.Encode(word));
        }
    }

    /// <summary>Textbook BPE over strings: repeatedly merge the leftmost pair with the lowest merge index.</summary>
    private static int[] NaiveBpe(TokenizerData data, string word)
    {
        var rank = new Dictionary<(string, string), int>();
        for (int i = 0; i < data.Merges.Length; i++)
        {
            string[] p = data.Merges[i].Split(' ');
            rank.TryAdd((p[0], p[1]), i);
        }
        var parts = Encoding.UTF8.GetBytes(word).Select(b => ByteLevel.ByteToChar(b).ToString()).ToList();
        while (true)
        {
            int best = int.MaxValue, at = -1;
            for (int i = 0; i + 1 < parts.Count; i++)
                if (rank.TryGetValue((parts[i], parts[i + 1]), out int r) && r < best) (best, at) = (r, i);
            if (at < 0) break;
            parts[at] += parts[at + 1];
            parts.RemoveAt(at + 1);
        }
        return parts.Select(p => Array.IndexOf(data.Tokens, p)).ToArray();
    }
}
