using KimiSharp.Grammar;
using static KimiSharp.Tests.Grammar.GrammarAssert;

namespace KimiSharp.Tests.Grammar;

public class GbnfParserTests
{
    private const string Arithmetic = """
        root  ::= expr
        expr  ::= term (("+" | "-") term)*   # sums
        term  ::= factor ("*" factor)*
        factor ::= [0-9]+ | "(" expr ")"
        """;

    [Theory]
    [InlineData("1", true)]
    [InlineData("12+3*(4-5)", true)]
    [InlineData("((7))", true)]
    [InlineData("1+", false)]
    [InlineData("(1", false)]
    [InlineData("a", false)]
    [InlineData("", false)]
    public void Gbnf_grammar_accepts_exactly_its_language(string text, bool expected)
    {
        var g = GbnfParser.Compile(Arithmetic);
        Assert.Equal(expected, Matches(g, text));
    }

    [Fact]
    public void Prefixes_of_sentences_are_accepted_and_others_rejected_at_the_first_bad_byte()
    {
        var g = GbnfParser.Compile(Arithmetic);
        Assert.True(IsPrefix(g, "12+(3"));
        Assert.False(IsPrefix(g, "12+)"));
    }

    [Theory]
    [InlineData("root ::= \"a\"{2,3}", "aa", true)]
    [InlineData("root ::= \"a\"{2,3}", "aaaa", false)]
    [InlineData("root ::= \"a\"{2}", "aa", true)]
    [InlineData("root ::= \"a\"{,2} \"b\"", "b", true)]
    [InlineData("root ::= \"a\"{2,} \"b\"", "aaaaab", true)]
    [InlineData("root ::= \"a\"{2,} \"b\"", "ab", false)]
    [InlineData("root ::= [^\"\\\\]*", "héllo wörld ✓", true)]
    [InlineData("root ::= [^\"\\\\]*", "a\"b", false)]
    [InlineData("root ::= [а-я]+", "привет", true)]
    [InlineData("root ::= [а-я]+", "hello", false)]
    [InlineData("root ::= \"\\u00e9\\x41\\n\"", "éA\n", true)]
    [InlineData("root ::= . . .", "a😀b", true)]
    [InlineData("root ::= (\n  \"x\"\n  | \"y\"\n)", "y", true)]
    [InlineData("root ::= a? b\na ::= \"a\"\nb ::= \"b\"", "b", true)]
    public void Gbnf_syntax_follows_llama_cpp(string grammar, string text, bool expected)
    {
        Assert.Equal(expected, Matches(GbnfParser.Compile(grammar), text));
    }

    [Theory]
    [InlineData("root ::= foo", "'foo' is used but never defined")]
    [InlineData("expr ::= \"a\"", "no 'root' rule")]
    [InlineData("root ::= root \"a\" | \"b\"", "left recursion")]
    [InlineData("root ::= x\nx ::= y? x \"a\"\ny ::= \"b\"", "left recursion")]
    [InlineData("root ::= \"a", "unterminated string")]
    [InlineData("root ::= [a-", "unterminated character class")]
    [InlineData("root ::= \"a\"{3,2}", "max < min")]
    [InlineData("root ::= \"a\"\nroot ::= \"b\"", "defined twice")]
    [InlineData("root ::= x\nx ::= x \"a\"", "left recursion")]
    public void Bad_grammars_fail_with_a_message_that_says_why(string grammar, string message)
    {
        var e = Assert.Throws<GrammarException>(() => GbnfParser.Compile(grammar));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_grammar_that_matches_nothing_is_rejected()
    {
        var e = Assert.Throws<GrammarException>(() => GbnfParser.Compile("root ::= x\nx ::= \"a\" x"));
        Assert.Contains("matches nothing", e.Message);
    }

    [Fact]
    public void Right_recursion_nests_without_limit()
    {
        var g = GbnfParser.Compile("root ::= \"(\" root \")\" | \"x\"");
        Assert.True(Matches(g, new string('(', 300) + "x" + new string(')', 300)));
        Assert.False(Matches(g, new string('(', 300) + "x" + new string(')', 299)));
    }

    [Fact]
    public void Special_tokens_are_terminals_of_their_own()
    {
        var vocab = GrammarVocabulary.Create([[(byte)'a'], [(byte)'<'], null], new Dictionary<string, int> { ["<|end|>"] = 2 }, [2]);
        var g = GbnfParser.Compile("root ::= \"a\" <|end|>", vocab);
        var m = new GrammarMatcher(g);
        Assert.True(m.AcceptText("a"));
        Assert.False(m.Allows("<|end|>"u8));
        Assert.True(m.AllowsSpecial(2));
        Assert.True(m.AcceptSpecial(2));
        Assert.True(m.IsAccepting);
        Assert.Throws<GrammarException>(() => GbnfParser.Compile("root ::= <|nope|>", vocab));
    }
}
