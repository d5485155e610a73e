using KimiSharp.Text;

namespace KimiSharp.Tests.Text;

/// <summary>
/// Pieces of the kimi-k2 split for the cases where llama.cpp's splitter differs from tiktoken; the expected pieces are
/// what Kimi's pattern gives under tiktoken and under Python's `regex` module (regex.V1, which supports &amp;&amp;).
/// </summary>
public class KimiK2PreTokenizerTests
{
    private static string[] Split(string text)
    {
        var ends = new List<int>();
        new KimiK2PreTokenizer().Split(text, ends);
        var pieces = new List<string>();
        int start = 0;
        foreach (int end in ends)
        {
            pieces.Add(text[start..end]);
            start = end;
        }
        return pieces.ToArray();
    }

    [Theory]
    [InlineData("helloWorld", new[] { "hello", "World" })]
    [InlineData("getUserName", new[] { "get", "User", "Name" })]
    [InlineData("HELLOworld", new[] { "HELLOworld" })]
    [InlineData("HELLO", new[] { "HELLO" })]
    [InlineData(" IT'S it's", new[] { " IT'S", " it's" })]
    [InlineData("中文abc", new[] { "中文", "abc" })]
    [InlineData("々y", new[] { "々", "y" })]        // U+3005 is Script=Han (llama.cpp's table lacks it)
    [InlineData("⺀一x", new[] { "⺀一", "x" })]     // CJK radicals are Han
    [InlineData(" x\u0301y", new[] { " x\u0301y" })] // combining marks are letters here
    [InlineData("\u0301", new[] { "\u0301" })]
    [InlineData("12345", new[] { "123", "45" })]
    [InlineData("  \r\n  x", new[] { "  \r\n", " ", " x" })]
    [InlineData("a  b", new[] { "a", " ", " b" })]
    [InlineData("x !!\n\ny", new[] { "x", " !!\n\n", "y" })]
    [InlineData("\nhello", new[] { "\n", "hello" })]
    [InlineData("end   ", new[] { "end", "   " })]
    public void Split_follows_tiktoken_when_given(string text, string[] expected)
    {
        Assert.Equal(expected, Split(text));
    }

    [Fact]
    public void Split_covers_every_character_once_when_given_random_text()
    {
        var rng = new Random(7);
        for (int trial = 0; trial < 200; trial++)
        {
            string text = new(Enumerable.Range(0, 1 + rng.Next(40)).Select(_ => (char)rng.Next(0, 0x10000)).ToArray());
            Assert.Equal(text, string.Concat(Split(text)));
        }
    }
}
