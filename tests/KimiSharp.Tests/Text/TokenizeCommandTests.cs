using KimiSharp.Cli;
using KimiSharp.Gguf;
using KimiSharp.Text;

namespace KimiSharp.Tests.Text;

[Collection("Console")]
public sealed class TokenizeCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kimisharp-text-" + Guid.NewGuid().ToString("N"));
    private readonly string _model;
    private readonly Tokenizer _tokenizer = Tokenizer.Create(TestVocabulary.Build());

    public TokenizeCommandTests()
    {
        Directory.CreateDirectory(_dir);
        _model = Path.Combine(_dir, "vocab.gguf");
        var writer = new GgufWriter();
        writer.SetString("general.architecture", "deepseek2");
        TokenizerGgufKeys.Write(writer, TestVocabulary.Build());
        writer.Write(_model);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            int code = Program.BuildRoot().Parse(args).Invoke();
            return (code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    [Fact]
    public void Tokenize_prints_the_ids_as_json_with_and_without_special_parsing()
    {
        string textFile = Path.Combine(_dir, "t.txt");
        File.WriteAllText(textFile, "Hello <|im_end|> 世界");

        var plain = Run("tokenize", "--model", _model, "--text-file", textFile, "--json");
        Assert.Equal(0, plain.Code);
        Assert.Equal("[" + string.Join(",", _tokenizer.Encode("Hello <|im_end|> 世界")) + "]\n", plain.Out);

        var special = Run("tokenize", "--model", _model, "--text-file", textFile, "--json", "--special");
        Assert.Equal("[" + string.Join(",", _tokenizer.Encode("Hello <|im_end|> 世界", parseSpecial: true)) + "]\n", special.Out);
        Assert.NotEqual(plain.Out, special.Out);
    }

    [Fact]
    public void Tokenize_lists_each_token_with_its_text()
    {
        var result = Run("tokenize", "--model", _model, "--text", " the\n");
        Assert.Equal(0, result.Code);
        Assert.Contains("' the'", result.Out);
        Assert.Contains("'\\n'", result.Out);
        Assert.EndsWith("2 tokens\n", result.Out);
    }

    [Fact]
    public void Detokenize_prints_exactly_the_text()
    {
        int[] ids = _tokenizer.Encode("round trip, 中文 <|im_end|>", parseSpecial: true);
        var result = Run("detokenize", "--model", _model, "--tokens", string.Join(",", ids));
        Assert.Equal(0, result.Code);
        Assert.Equal("round trip, 中文 <|im_end|>", result.Out);
    }

    [Fact]
    public void Commands_fail_with_one_line_on_bad_input()
    {
        var badId = Run("detokenize", "--model", _model, "--tokens", "1,999999");
        Assert.Equal(1, badId.Code);
        Assert.Contains("outside the vocabulary", badId.Err);
        Assert.Single(badId.Err.TrimEnd('\n').Split('\n'));

        var notNumber = Run("detokenize", "--model", _model, "--tokens", "1,x");
        Assert.Equal(1, notNumber.Code);

        var missing = Run("tokenize", "--model", Path.Combine(_dir, "nope.gguf"), "--text", "x");
        Assert.Equal(1, missing.Code);
        Assert.StartsWith("error:", missing.Err);
    }
}
