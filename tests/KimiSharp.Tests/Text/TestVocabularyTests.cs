using KimiSharp.Text;

namespace KimiSharp.Tests.Text;

public class TestVocabularyTests
{
    [Fact]
    public void Build_is_deterministic_and_sized_to_a_multiple_of_64()
    {
        var a = TestVocabulary.Build();
        var b = TestVocabulary.Build();
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.Equal(a.Merges, b.Merges);
        Assert.Equal(a.TokenTypes, b.TokenTypes);
        Assert.Equal(0, a.Tokens.Length % 64);
        Assert.Equal(a.Tokens.Length, a.TokenTypes.Length);
        Assert.Equal("gpt2", a.Model);
        Assert.Equal("kimi-k2", a.Pre);
        Assert.False(a.AddBos);
        Assert.True(a.Merges.Length >= 200, $"only {a.Merges.Length} merges");
    }

    [Fact]
    public void Build_has_consistent_merges_every_part_and_result_is_a_token()
    {
        var data = TestVocabulary.Build();
        var ids = new Dictionary<string, int>();
        for (int i = 0; i < data.Tokens.Length; i++) ids.Add(data.Tokens[i], i); // throws on duplicates
        foreach (string merge in data.Merges)
        {
            string[] parts = merge.Split(' ');
            Assert.Equal(2, parts.Length);
            Assert.True(ids.ContainsKey(parts[0]), merge);
            Assert.True(ids.ContainsKey(parts[1]), merge);
            Assert.True(ids.ContainsKey(parts[0] + parts[1]), merge);
        }
    }

    [Fact]
    public void Build_has_kimi_special_tokens_with_bos_and_im_end_as_eos()
    {
        var data = TestVocabulary.Build();
        Assert.Equal("[BOS]", data.Tokens[data.BosId]);
        Assert.Equal("<|im_end|>", data.Tokens[data.EosId]);
        Assert.Equal("[PAD]", data.Tokens[data.PadId!.Value]);
        int Id(string t) => Array.IndexOf(data.Tokens, t);
        foreach (string control in new[] { "[BOS]", "[EOS]", "<|im_end|>", "<|im_user|>", "<|im_assistant|>", "<|im_system|>", "<|im_middle|>", "[EOT]" })
            Assert.Equal((int)TokenType.Control, data.TokenTypes[Id(control)]);
        foreach (string marker in new[] { "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>" })
            Assert.Equal((int)TokenType.UserDefined, data.TokenTypes[Id(marker)]);
        Assert.Contains("Ġthe", data.Tokens); // common words became multi-byte tokens
    }
}
