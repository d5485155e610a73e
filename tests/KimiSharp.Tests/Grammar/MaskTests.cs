using KimiSharp.Grammar;
using KimiSharp.Grammar.Json;
using KimiSharp.Sampling;

namespace KimiSharp.Tests.Grammar;

/// <summary>The trie walk (with slices) gives exactly the brute-force mask: every token tried one by one.</summary>
public class MaskTests
{
    /// <summary>A subset of the Kimi-like vocabulary (same ids; every 23rd token, the first 3000, and the specials), small enough for brute force.</summary>
    private static readonly Lazy<GrammarVocabulary> Subset = new(() =>
    {
        var full = KimiLikeVocabulary.Grammar;
        var tokens = new byte[]?[full.Size];
        for (int id = 0; id < full.Size; id++)
            if (id < 3000 || id % 23 == 0) tokens[id] = full.TokenBytes[id];
        return GrammarVocabulary.Create(tokens, full.SpecialTokens.ToDictionary(), full.EndOfGeneration);
    });

    public static TheoryData<string, string> Grammars => new()
    {
        { "json", """{"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer","minimum":-5,"maximum":120},"tags":{"type":"array","items":{"enum":["a","b c"]},"maxItems":3},"x":{"type":"number"}},"required":["name"]}""" },
        { "json", """{"type":"object","properties":{"s":{"type":"string","maxLength":5},"p":{"type":"string","pattern":"^[a-z]+@[a-z]+$"},"d":{"type":"string","format":"date"}},"required":["s","p","d"]}""" },
        { "json", """{"anyOf":[{"type":"array","items":{"type":"boolean"}},{"type":"null"},{"type":"object","additionalProperties":{"type":"integer"}}]}""" },
        { "gbnf", "root ::= (\"a\" | \"ab\")* \"c\" [0-9]{1,4}" },
        { "gbnf", "root ::= [^\\x00]* \"!\"" },
        { "gbnf", "root ::= item (\", \" item)*\nitem ::= \"\\\"\" [^\"\\\\]* \"\\\"\" | num\nnum ::= [0-9]+" },
        { "gbnf", "root ::= \"x\" <|tool_call_end|> \"y\"" },
    };

    [Theory]
    [MemberData(nameof(Grammars))]
    public void Trie_walk_mask_equals_brute_force_along_random_walks(string kind, string source)
    {
        var vocab = Subset.Value;
        var grammar = kind == "json" ? JsonSchemaCompiler.Compile(source) : GbnfParser.Compile(source, vocab);
        var random = new Random(source.Length);
        var mask = new TokenMask(vocab.Size);
        var candidates = Enumerable.Range(0, vocab.Size).Where(id => vocab.TokenBytes[id] is not null).Concat(vocab.SpecialTokens.Values).ToArray();
        for (int walk = 0; walk < 3; walk++)
        {
            var matcher = new GrammarMatcher(grammar);
            for (int step = 0; step < 25; step++)
            {
                matcher.ComputeMask(vocab, mask.Bits);
                var allowed = new List<int>();
                Assert.Equal(candidates.Count(mask.IsSet), mask.Count); // nothing outside the vocabulary's tokens
                foreach (int id in candidates)
                {
                    bool expected = vocab.TokenBytes[id] is { } bytes ? matcher.Allows(bytes) : matcher.AllowsSpecial(id);
                    Assert.True(expected == mask.IsSet(id), $"step {step}, token {id} '{vocab.Describe(id)}': brute force says {expected}");
                    if (expected) allowed.Add(id);
                }
                if (allowed.Count == 0)
                {
                    Assert.True(matcher.IsAccepting, "nothing is allowed but the grammar is not complete");
                    break;
                }
                int token = allowed[random.Next(allowed.Count)];
                Assert.True(vocab.TokenBytes[token] is { } b ? matcher.AcceptBytes(b) : matcher.AcceptSpecial(token));
            }
        }
    }
}
