using KimiSharp.Gguf;
using KimiSharp.Text;

namespace KimiSharp.Tests.Text;

public sealed class TokenizerFromGgufTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kimisharp-fromgguf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private GgufMetadata Roundtrip(Action<GgufWriter> edit)
    {
        var writer = new GgufWriter();
        writer.SetString("general.architecture", "deepseek2");
        TokenizerGgufKeys.Write(writer, TestVocabulary.Build());
        edit(writer);
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".gguf");
        writer.Write(path);
        using var file = GgufFile.Open(path);
        return file.Metadata;
    }

    [Fact]
    public void FromGguf_reads_back_what_TokenizerGgufKeys_wrote()
    {
        var expected = TestVocabulary.Build();
        var data = Tokenizer.ReadData(Roundtrip(_ => { }));
        Assert.Equal(expected.Tokens, data.Tokens);
        Assert.Equal(expected.Merges, data.Merges);
        Assert.Equal(expected.TokenTypes, data.TokenTypes);
        Assert.Equal((expected.BosId, expected.EosId, expected.PadId, expected.AddBos, expected.Pre), (data.BosId, data.EosId, data.PadId, data.AddBos, data.Pre));
        var t = Tokenizer.FromGguf(Roundtrip(_ => { }));
        Assert.Equal(Tokenizer.Create(expected).Encode("Hello 世界 <|im_end|>", true), t.Encode("Hello 世界 <|im_end|>", true));
    }

    [Fact]
    public void FromGguf_names_the_key_when_metadata_is_wrong()
    {
        var badBos = Assert.Throws<GgufFormatException>(() => Tokenizer.FromGguf(Roundtrip(w => w.SetUInt32("tokenizer.ggml.bos_token_id", 1_000_000))));
        Assert.Equal("tokenizer.ggml.bos_token_id", badBos.Key);

        var badTypes = Assert.Throws<GgufFormatException>(() => Tokenizer.FromGguf(Roundtrip(w => w.SetArray("tokenizer.ggml.token_type", new[] { 1, 1 }))));
        Assert.Equal("tokenizer.ggml.token_type", badTypes.Key);

        Assert.ThrowsAny<GgufFormatException>(() => Tokenizer.FromGguf(Roundtrip(w => w.Remove("tokenizer.ggml.tokens"))));
        Assert.Throws<NotSupportedException>(() => Tokenizer.FromGguf(Roundtrip(w => w.SetString("tokenizer.ggml.model", "llama"))));
    }
}
