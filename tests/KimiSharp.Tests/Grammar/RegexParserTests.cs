using System.Text.RegularExpressions;
using KimiSharp.Grammar;
using static KimiSharp.Tests.Grammar.GrammarAssert;

namespace KimiSharp.Tests.Grammar;

public class RegexParserTests
{
    public static TheoryData<string> Patterns =>
    [
        "abc", "a|b|cd", "a*b+c?", "(ab){2,3}", "[a-c]{1,2}x", "[^a-c]y", "\\d{2}-\\d{2}", "\\w+@\\w+\\.com", "(?:x|yz)*",
        "a{2,}", "[\\-.]+", "colou?r", "\\s*\\S+", "(?<year>\\d{4})-\\d\\d", "[.]\\.", "\\x41\\u0042", "[a-z0-9_]{0,3}\\$",
        "é+ü?", "(a|)b", "a??b*?",
    ];

    [Theory]
    [MemberData(nameof(Patterns))]
    public void Regex_grammar_accepts_the_same_strings_as_the_dotnet_engine(string pattern)
    {
        var grammar = RegexParser.Compile(pattern);
        var reference = new Regex("^(?:" + pattern + ")\\z", RegexOptions.CultureInvariant);
        var random = new Random(pattern.Length * 7919 + pattern[0]);
        const string alphabet = "abcdxyzABC0123456789-_.@$ éü\t";
        var samples = new List<string> { "" };
        for (int i = 0; i < 3000; i++)
        {
            int length = random.Next(0, 9);
            samples.Add(new string(Enumerable.Range(0, length).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray()));
        }
        samples.AddRange(["abc", "ab", "abab", "ababab", "12-34", "x@y.com", "colour", "color", "2024-01", ".."
            , "AB", "é", "éü", "b", "aab", "ab$", "xyz", "x", "aa"]);
        int matched = 0;
        foreach (var s in samples)
        {
            bool expected = reference.IsMatch(s);
            matched += expected ? 1 : 0;
            Assert.True(expected == Matches(grammar, s), $"/{pattern}/ on \"{s}\": .NET says {expected}");
        }
        Assert.True(matched > 0, $"no sample matched /{pattern}/: the test proves nothing");
    }

    [Theory]
    [InlineData("(?=a)a", "lookaround")]
    [InlineData("(a)\\1", "backreferences")]
    [InlineData("\\bword", "word boundaries")]
    [InlineData("a(b", "expected ')'")]
    [InlineData("*a", "nothing to repeat")]
    [InlineData("\\p{L}", "property escapes")]
    public void Unsupported_regex_features_are_rejected_by_name(string pattern, string message)
    {
        var e = Assert.Throws<GrammarException>(() => RegexParser.Compile(pattern));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Search_semantics_allow_text_around_an_unanchored_match()
    {
        var def = new GrammarDefinition();
        def.Root = def.AddRule("root", RegexParser.ParseSearch("b+c", GrammarExpr.Utf8));
        var g = GrammarCompiler.Compile(def);
        Assert.True(Matches(g, "aaabbcdd"));
        Assert.False(Matches(g, "aaadd"));
        var anchored = new GrammarDefinition();
        anchored.Root = anchored.AddRule("root", RegexParser.ParseSearch("^b+c$", GrammarExpr.Utf8));
        var ga = GrammarCompiler.Compile(anchored);
        Assert.True(Matches(ga, "bbc"));
        Assert.False(Matches(ga, "abbc"));
    }
}
