using KimiSharp.Demo;
using KimiSharp.Gguf;

namespace KimiSharp.Tests.Demo;

public sealed class DemoModelTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kimisharp-demo-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void EnsureCreated_writes_a_kimi_tiny_gguf_once_and_reuses_it()
    {
        string path = DemoModel.EnsureCreated(_dir);
        using (var file = GgufFile.Open(path))
        {
            Assert.Equal("deepseek2", file.Metadata.GetString("general.architecture"));
            Assert.True(file.Metadata.ContainsKey("tokenizer.ggml.tokens"));
            Assert.True(file.Metadata.ContainsKey("tokenizer.chat_template"));
            Assert.Equal((uint)DemoModel.Version, file.Metadata.GetUInt32(DemoModel.VersionKey));
        }
        var written = File.GetLastWriteTimeUtc(path);
        File.SetLastWriteTimeUtc(path, written.AddHours(-1));
        Assert.Equal(path, DemoModel.EnsureCreated(_dir));
        Assert.Equal(written.AddHours(-1), File.GetLastWriteTimeUtc(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void EnsureCreated_rebuilds_a_damaged_file()
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, DemoModel.FileName);
        File.WriteAllBytes(path, "GGUF-not-really"u8.ToArray());
        Assert.Equal(path, DemoModel.EnsureCreated(_dir));
        using var file = GgufFile.Open(path);
        Assert.Equal("deepseek2", file.Metadata.GetString("general.architecture"));
    }

    [Fact]
    public void Notice_says_the_output_is_noise_and_how_to_get_real_weights()
    {
        Assert.Contains("noise", DemoModel.Notice);
        Assert.Contains("kimi pull", DemoModel.Notice);
    }
}
