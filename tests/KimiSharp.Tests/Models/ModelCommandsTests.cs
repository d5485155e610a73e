using KimiSharp.Cli;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Tests.Models;

// In-process CLI runs write to the process-wide Console: never in parallel with tests that capture it.
[Collection("Console")]
public class ModelCommandsTests(TinyModelFiles files) : IClassFixture<TinyModelFiles>
{
    [Fact]
    public void Logits_command_writes_all_positions_as_little_endian_float32()
    {
        var model = files.Get("kimi-tiny");
        var outPath = Path.Combine(files.Directory_, "logits.bin");
        int[] tokens = [5, 17, 300, 42];
        int code = Program.BuildRoot().Parse(["logits", "--model", model, "--tokens", string.Join(",", tokens), "--out", outPath, "--threads", "1"]).Invoke();
        Assert.Equal(0, code);

        using var m = DeepSeek2Model.Load(model, new ModelOptions(1));
        var expected = new float[tokens.Length * m.VocabSize];
        using (var s = m.CreateSession(tokens.Length))
            s.ForwardAll(tokens, expected);
        var bytes = File.ReadAllBytes(outPath);
        Assert.Equal(expected.Length * 4, bytes.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], BitConverter.ToSingle(bytes, i * 4));
    }

    [Fact]
    public void Logits_command_no_repack_sums_in_the_order_of_llama_cpp_without_repacking()
    {
        if (!KimiSharp.Quants.Simd.IsAvailable(KimiSharp.Quants.SimdLevel.Avx2))
            return; // without AVX2 llama.cpp (and we) never repack, so both orders are the same
        var model = files.Get("kimi-tiny", KimiSharp.Quants.GgmlType.Q4_K);
        int[] tokens = [5, 17, 300, 42, 9, 77];
        var outPath = Path.Combine(files.Directory_, "logits-norepack.bin");
        int code = Program.BuildRoot().Parse(["logits", "--model", model, "--tokens", string.Join(",", tokens), "--out", outPath,
            "--threads", "1", "--no-repack", "--exact"]).Invoke();
        Assert.Equal(0, code);
        var bytes = File.ReadAllBytes(outPath);

        float[] Logits(bool matchRepacking)
        {
            using var m = DeepSeek2Model.Load(model, new ModelOptions(1, MatchLlamaCppRepacking: matchRepacking, Exact: true));
            var result = new float[tokens.Length * m.VocabSize];
            using var s = m.CreateSession(tokens.Length);
            s.ForwardAll(tokens, result);
            return result;
        }
        var plain = Logits(matchRepacking: false);
        var repacked = Logits(matchRepacking: true);
        Assert.Equal(plain.Length * 4, bytes.Length);
        for (int i = 0; i < plain.Length; i++)
            Assert.Equal(plain[i], BitConverter.ToSingle(bytes, i * 4));
        Assert.False(plain.AsSpan().SequenceEqual(repacked), "the repacked order should round differently somewhere");
    }

    [Fact]
    public void Logits_command_fails_with_one_line_when_tokens_are_not_numbers()
    {
        var err = new StringWriter();
        var old = Console.Error;
        Console.SetError(err);
        try
        {
            int code = Program.BuildRoot().Parse(["logits", "--model", files.Get("kimi-tiny"), "--tokens", "1,x", "--out", "/dev/null"]).Invoke();
            Assert.Equal(1, code);
        }
        finally
        {
            Console.SetError(old);
        }
        Assert.Contains("'x' is not a non-negative integer", err.ToString());
    }

    [Fact]
    public void Perplexity_command_reports_a_finite_estimate()
    {
        var text = Path.Combine(files.Directory_, "text.txt");
        File.WriteAllText(text, string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 40)));
        var stdout = new StringWriter();
        var old = Console.Out;
        Console.SetOut(stdout);
        int code;
        try
        {
            code = Program.BuildRoot().Parse(["perplexity", "--model", files.Get("kimi-tiny"), "--text-file", text, "--ctx", "32", "--chunks", "2", "--threads", "1"]).Invoke();
        }
        finally
        {
            Console.SetOut(old);
        }
        Assert.Equal(0, code);
        var line = stdout.ToString().Split('\n').Single(l => l.StartsWith("Final estimate: PPL = ", StringComparison.Ordinal));
        var ppl = double.Parse(line.Split(' ')[4], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(ppl > 1 && double.IsFinite(ppl), line);
    }
}
