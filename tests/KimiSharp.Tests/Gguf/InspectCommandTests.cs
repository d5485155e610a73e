using System.Diagnostics;
using System.Text.Json;
using KimiSharp.Cli.Commands;
using KimiSharp.Gguf;
using KimiSharp.Quants;
using KimiSharp.TestModels;

namespace KimiSharp.Tests.Gguf;

// In-process CLI runs write to the process-wide Console: never in parallel with tests that capture it.
[Collection("Console")]
public class InspectCommandTests
{
    private static JsonElement InspectJson(string path)
    {
        var output = new StringWriter();
        Assert.Equal(0, InspectCommand.Run(path, json: true, output));
        return JsonDocument.Parse(output.ToString()).RootElement;
    }

    [Fact]
    public void Inspect_reports_the_same_tensors_and_histogram_for_a_split_set_opened_from_part_2()
    {
        using var dir = new TempDir();
        var spec = TestModelSpec.KimiTiny2L with { Type = GgmlType.F16 };
        var single = dir.File("m.gguf");
        TestModelWriter.Write(spec, single);
        var parts = TestModelWriter.WriteSplit(spec, dir.File("m"), 3);

        var whole = InspectJson(single);
        var split = InspectJson(parts[1]);
        Assert.Equal(1, whole.GetProperty("split_count").GetInt32());
        Assert.Equal(3, split.GetProperty("split_count").GetInt32());
        Assert.Equal(whole.GetProperty("tensor_count").GetInt32(), split.GetProperty("tensor_count").GetInt32());
        Assert.Equal(whole.GetProperty("type_histogram").GetRawText(), split.GetProperty("type_histogram").GetRawText());
        Assert.Equal(parts.Sum(p => new FileInfo(p).Length), split.GetProperty("file_size").GetInt64());
        Assert.Equal(new FileInfo(single).Length, whole.GetProperty("file_size").GetInt64());

        using var file = GgufFile.Open(single);
        Assert.Equal(file.Tensors.Count, whole.GetProperty("tensor_count").GetInt32());
        var histogram = whole.GetProperty("type_histogram");
        foreach (var group in file.Tensors.GroupBy(t => t.Type))
        {
            var entry = histogram.GetProperty(group.Key.ToString());
            Assert.Equal(group.Count(), entry.GetProperty("count").GetInt32());
            Assert.Equal(group.Sum(t => t.ByteSize), entry.GetProperty("bytes").GetInt64());
        }
        Assert.Equal(2, histogram.EnumerateObject().Count()); // F16 matrices, F32 norms and router
    }

    [Fact]
    public void Inspect_json_lists_every_key_and_summarises_long_arrays()
    {
        using var dir = new TempDir();
        var path = dir.File("m.gguf");
        TestModelWriter.Write(TestModelSpec.KimiTiny2L, path);
        var root = InspectJson(path);
        using var file = GgufFile.Open(path);
        var metadata = root.GetProperty("metadata");
        Assert.Equal(file.Metadata.Keys, metadata.EnumerateObject().Select(p => p.Name));
        var tokens = metadata.GetProperty("tokenizer.ggml.tokens");
        Assert.Equal("string", tokens.GetProperty("type").GetString());
        Assert.Equal(file.Metadata["tokenizer.ggml.tokens"].Length, tokens.GetProperty("length").GetInt64());
        Assert.Equal(256, metadata.GetProperty("deepseek2.embedding_length").GetInt32());
        Assert.Equal(2.827f, metadata.GetProperty("deepseek2.expert_weights_scale").GetSingle());
        Assert.True(metadata.GetProperty("deepseek2.expert_weights_norm").GetBoolean());
        Assert.Equal("deepseek2.block_count", root.GetProperty("hyperparameters").GetProperty("block_count").GetProperty("key").GetString());
        Assert.Equal(2, root.GetProperty("hyperparameters").GetProperty("block_count").GetProperty("value").GetInt32());
        var tokenizer = root.GetProperty("tokenizer");
        Assert.Equal("gpt2", tokenizer.GetProperty("model").GetString());
        Assert.Equal("kimi-k2", tokenizer.GetProperty("pre").GetString());
        Assert.Equal(file.Metadata.GetInt32("tokenizer.ggml.bos_token_id"), tokenizer.GetProperty("bos_token_id").GetInt32());
        Assert.True(root.GetProperty("chat_template").GetBoolean());
        var unsupported = root.GetProperty("unsupported_types").EnumerateArray().Select(e => e.GetString()).ToArray();
        Assert.Equal(QuantCodecs.IsSupported(GgmlType.F32), !unsupported.Contains("F32"));
        Assert.Equal(unsupported.Length == 0, root.GetProperty("runnable").GetBoolean());
    }

    [Fact]
    public void Inspect_text_names_hyperparameters_with_their_keys()
    {
        using var dir = new TempDir();
        var path = dir.File("m.gguf");
        TestModelWriter.Write(TestModelSpec.KimiTiny2L, path);
        var output = new StringWriter();
        InspectCommand.Run(path, json: false, output);
        var text = output.ToString();
        Assert.Matches(@"layers\s+2\s+deepseek2\.block_count", text);
        Assert.Matches(@"KV LoRA rank\s+64\s+deepseek2\.attention\.kv_lora_rank", text);
        Assert.Contains("model gpt2, pre kimi-k2", text);
        Assert.Contains("chat template: embedded", text);
    }

    [Fact]
    public async Task Kimi_inspect_prints_one_line_and_exits_1_when_the_file_is_bad()
    {
        using var dir = new TempDir();
        var bad = dir.File("bad.gguf");
        File.WriteAllBytes(bad, "GGUF\u0003\0\0\0garbage-garbage-garbage"u8.ToArray());
        var kimi = Path.Combine(AppContext.BaseDirectory, "kimi.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { kimi, "inspect", bad, "--json" })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(1, process.ExitCode);
        Assert.Equal("", await stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains("bad.gguf", lines[0]);
    }
}
