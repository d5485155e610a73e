using System.Text.Json;
using KimiSharp.Cli;
using KimiSharp.Cli.Bench;
using KimiSharp.Gguf;
using KimiSharp.Tests.Engine;
using KimiSharp.Tests.Models;

namespace KimiSharp.Tests.Cli;

// In-process CLI runs write to the process-wide Console: never in parallel with tests that capture it.
[Collection("Console")]
public class BenchCommandTests(TinyModelFiles files) : IClassFixture<TinyModelFiles>
{
    /// <summary>A scripted network that records the session length after every forward call.</summary>
    private static (ScriptedLanguageModel Network, List<int> Lengths) Recording()
    {
        var lengths = new List<int>();
        var network = new ScriptedLanguageModel(64, tokens =>
        {
            lengths.Add(tokens.Count);
            return 1;
        });
        return (network, lengths);
    }

    [Fact]
    public void Bench_runs_every_p_and_n_as_its_own_test_with_one_warm_up_and_r_timed_runs()
    {
        var (network, _) = Recording();
        var results = BenchRunner.Measure(network, new BenchSettings([16, 8], [4], [0], [1], Repetitions: 2, Threads: 1));
        Assert.Equal(["pp16", "pp8", "tg4"], results.Select(r => r.Test.Name));
        Assert.All(results, r => Assert.Equal(2, r.Rates.Length));
        Assert.All(results, r => Assert.True(r.Median > 0));
        Assert.Equal(3, network.Calls.Count(c => c.Tokens.Length == 16));
        Assert.Equal(3, network.Calls.Count(c => c.Tokens.Length == 8));
        Assert.Equal(3 * 4, network.Calls.Count(c => c.Tokens.Length == 1));
        Assert.Equal(0, network.OpenSessions);
    }

    [Fact]
    public void Bench_measures_pp_once_per_depth_and_tg_for_every_sequence_count()
    {
        var settings = new BenchSettings([8], [2], [0, 16], [1, 4], Repetitions: 1, Threads: 1);
        Assert.Equal(["pp8", "tg2", "tg2 x4", "pp8 @ d16", "tg2 @ d16", "tg2 @ d16 x4"], settings.Tests().Select(t => t.Name));
    }

    [Fact]
    public void Bench_fills_the_depth_once_and_trims_back_to_it_before_every_run()
    {
        var (network, lengths) = Recording();
        BenchRunner.Measure(network, new BenchSettings([8], [3], [600], [1], Repetitions: 2, Threads: 1));
        // The 600-token context is filled once, in chunks of at most 256 tokens.
        Assert.Equal([256, 256, 88], network.Calls.Take(3).Select(c => c.Tokens.Length));
        Assert.Equal([256, 512, 600], lengths.Take(3));
        var pp = lengths.Skip(3).Take(3).ToArray();
        Assert.Equal([608, 608, 608], pp);
        var tg = lengths.Skip(6).ToArray();
        Assert.Equal([601, 602, 603, 601, 602, 603, 601, 602, 603], tg);
    }

    [Fact]
    public void Bench_with_several_sequences_steps_them_together_in_one_batched_forward_and_counts_their_tokens()
    {
        var (network, _) = Recording();
        var result = Assert.Single(BenchRunner.Measure(network, new BenchSettings([0], [5], [2], [3], Repetitions: 1, Threads: 1)));
        Assert.Equal("tg5 @ d2 x3", result.Test.Name);
        Assert.Equal(15, result.Test.Tokens);
        Assert.Empty(network.Calls); // no per-sequence session calls: everything went through the batched runner
        var fills = network.Steps.Take(3).ToArray();
        Assert.All(fills, f => Assert.Equal((0, 2), (f.Segments.Single().Start, f.Segments.Single().Tokens.Length)));
        var steps = network.Steps.Skip(3).ToArray();
        Assert.Equal(2 * 5, steps.Length); // warm-up + 1 run of 5 steps
        for (int i = 0; i < steps.Length; i++)
        {
            Assert.Equal(3, steps[i].Segments.Count);
            Assert.All(steps[i].Segments, s => Assert.Equal((2 + i % 5, 1), (s.Start, s.Tokens.Length)));
        }
    }

    [Fact]
    public void Batched_decode_reads_the_shared_weights_once_per_step_and_the_distinct_experts_of_its_tokens()
    {
        var traffic = new DecodeTraffic(Attention: 100, Dense: 50, SharedExperts: 10, RoutedExperts: 80, Output: 40, Embedding: 0, ExpertsUsed: 8, ExpertCount: 64);
        Assert.Equal(traffic.Total, traffic.PerTokenInStepOf(1));
        // 4 tokens pick 64·(1 − (56/64)^4) ≈ 26.5 distinct experts of 10 bytes each: (200 + 264.8) / 4.
        Assert.Equal(116, traffic.PerTokenInStepOf(4));
    }

    [Theory]
    [InlineData("0", "0", "0", "1", "nothing to measure")]
    [InlineData("8", "8", "-1", "1", "-d must be >= 0")]
    [InlineData("8", "8", "0", "0", "-np must be >= 1")]
    [InlineData("8,x", "8", "0", "1", "-p: 'x' is not an integer")]
    public void Bench_rejects_bad_settings_with_one_line(string p, string n, string d, string np, string message)
    {
        var (code, _, err) = Invoke(["bench", "-m", files.Get("kimi-tiny-2l"), "-p", p, "-n", n, "-d", d, "-np", np]);
        Assert.Equal(1, code);
        Assert.Contains(message, err);
    }

    [Fact]
    public void Decode_traffic_counts_the_used_share_of_routed_experts_and_one_embedding_row()
    {
        using var file = GgufFile.Open(files.Get("kimi-tiny-2l"));
        var traffic = DecodeTraffic.Of(file);
        long all = file.Tensors.Sum(t => t.ByteSize);
        long experts = file.Tensors.Where(t => t.Name.Contains("_exps.")).Sum(t => t.ByteSize);
        var embedding = file.GetTensor("token_embd.weight");
        // kimi-tiny-2l routes 4 of 16 experts: 3/4 of the routed bytes and all embedding rows but one stay unread.
        Assert.Equal(all - experts * 3 / 4 - embedding.ByteSize + embedding.ByteSize / embedding.Dims[1], traffic.Total);
        Assert.Equal(experts / 4, traffic.RoutedExperts);
        Assert.Equal(file.GetTensor("output.weight").ByteSize, traffic.Output);
        Assert.True(traffic.Attention > 0 && traffic.Dense > 0 && traffic.SharedExperts > 0);
    }

    [Fact]
    public void Bench_json_has_one_line_per_test_with_llama_bench_fields_and_the_bandwidth_share_of_tg()
    {
        var model = files.Get("kimi-tiny-2l");
        var (code, stdout, err) = Invoke(["bench", "-m", model, "-p", "8", "-n", "2", "-d", "4", "-r", "2", "-t", "1", "--json"]);
        Assert.Equal(0, code);
        Assert.Contains("streaming read bandwidth", err);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(2, lines.Length);
        var (pp, tg) = (lines[0], lines[1]);
        Assert.Equal("pp8 @ d4", pp.GetProperty("test").GetString());
        Assert.Equal(8, pp.GetProperty("p").GetInt32());
        Assert.Equal(4, pp.GetProperty("d").GetInt32());
        Assert.Equal(2, pp.GetProperty("pp_runs").GetArrayLength());
        Assert.True(pp.GetProperty("pp").GetDouble() > 0);
        Assert.Equal(JsonValueKind.Null, pp.GetProperty("gb_per_s").ValueKind);

        Assert.Equal(2, tg.GetProperty("n").GetInt32());
        Assert.Equal(1, tg.GetProperty("np").GetInt32());
        Assert.Equal(1, tg.GetProperty("t").GetInt32());
        var runs = tg.GetProperty("tg_runs").EnumerateArray().Select(r => r.GetDouble()).ToArray();
        Assert.Equal(2, runs.Length);
        Assert.Equal((runs[0] + runs[1]) / 2, tg.GetProperty("tg").GetDouble(), 0.011);
        using var file = GgufFile.Open(model);
        Assert.Equal(DecodeTraffic.Of(file).Total, tg.GetProperty("weight_bytes_per_token").GetInt64());
        double read = tg.GetProperty("weight_bytes_per_token").GetInt64() + tg.GetProperty("kv_bytes_per_token").GetInt64();
        double gbs = tg.GetProperty("gb_per_s").GetDouble(), bandwidth = tg.GetProperty("bandwidth_gb_per_s").GetDouble();
        Assert.Equal(read * tg.GetProperty("tg").GetDouble() / 1e9, gbs, 0.01);
        Assert.True(bandwidth > 0);
        // The JSON rounds GB/s to 2 decimals; the percentage is computed before rounding.
        Assert.InRange(tg.GetProperty("bandwidth_pct").GetDouble(), 100 * (gbs - 0.005) / (bandwidth + 0.005) - 0.05, 100 * (gbs + 0.005) / (bandwidth - 0.005) + 0.05);
    }

    [Fact]
    public void Bench_bandwidth_reports_the_streaming_read_rate_of_one_and_all_threads()
    {
        var (code, stdout, _) = Invoke(["bench", "--bandwidth", "-t", "2", "--json"]);
        Assert.Equal(0, code);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal([1, 2], lines.Select(l => l.GetProperty("t").GetInt32()));
        Assert.All(lines, l => Assert.True(l.GetProperty("gb_per_s").GetDouble() > 0.1));
    }

    private static (int Code, string Stdout, string Stderr) Invoke(string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = Program.BuildRoot().Parse(args).Invoke();
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
