using KimiSharp.Cli.Commands;
using KimiSharp.Server.Hosting;
using KimiSharp.TestModels;
using OllamaSharp;
using OllamaSharp.Models;

namespace KimiSharp.Server.Tests.Ollama;

/// <summary><c>kimi serve</c> on a generated kimi-tiny GGUF, seen through OllamaSharp: what the file says about itself, and a generation.</summary>
public sealed class OllamaServeTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("kimi-ollama-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Show_reports_the_gguf_metadata_and_generate_runs_the_real_model()
    {
        var path = Path.Combine(_directory, "kimi-tiny.gguf");
        var spec = TestModelSpec.KimiTiny with { Seed = 11 };
        TestModelWriter.Write(spec, path);
        var settings = new ServeSettings(path, new ServerOptions { Port = 0 }, ContextLength: 256, Threads: 1, Parallel: 1, Alias: null);
        await using var running = await ServeCommand.StartAsync(settings, TextWriter.Null);
        await running.Loading.WaitAsync(TimeSpan.FromSeconds(60));
        using var client = new OllamaApiClient(running.Server.BaseAddress, "kimi-tiny");

        var listed = Assert.Single(await client.ListLocalModelsAsync());
        Assert.Equal("kimi-tiny:latest", listed.Name);
        Assert.Equal(new FileInfo(path).Length, listed.Size);
        Assert.Equal("deepseek2", listed.Details.Family);
        Assert.NotEmpty(listed.Details.QuantizationLevel);
        Assert.Matches(@"^\d+\.\dM$", listed.Details.ParameterSize);

        var show = await client.ShowModelAsync("kimi-tiny");
        Assert.Equal("deepseek2", show.Info.Architecture);
        var info = show.Info.ExtraInfo!;
        Assert.Equal(spec.LayerCount, ((System.Text.Json.JsonElement)info["deepseek2.block_count"]).GetInt32());
        Assert.Equal(spec.EmbeddingLength, ((System.Text.Json.JsonElement)info["deepseek2.embedding_length"]).GetInt32());
        Assert.True(info.ContainsKey("deepseek2.context_length"));
        Assert.Contains("<|im_assistant|>", show.Template); // the GGUF's chat template
        Assert.Equal(new[] { "completion", "tools" }, show.Capabilities);

        GenerateDoneResponseStream? done = null;
        await foreach (var reply in client.GenerateAsync(new GenerateRequest { Prompt = "Hello", Options = new RequestOptions { NumPredict = 3, Temperature = 0 } }))
            done = reply as GenerateDoneResponseStream ?? done;
        Assert.NotNull(done);
        Assert.InRange(done.EvalCount, 1, 3);
        Assert.True(done.PromptEvalCount > 3);
    }
}
