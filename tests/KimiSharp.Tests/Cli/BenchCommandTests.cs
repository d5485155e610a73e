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
    public void Bench_fills_the_depth_once_and_trims_back_to_it_before_every_run()
    {
        var (network, lengths) = Recording();
        BenchRunner.Measure(network, new BenchSettings([8], [3], [600], [1], Repetitions: 2, Threads: 1));
        // The 600-token context is filled once, in chunks of at most 512 tokens.
        Assert.Equal([512, 88], network.Calls.Take(2).Select(c => c.Tokens.Length));
        Assert.Equal([512, 600], lengths.Take(2));
        var pp = lengths.Skip(2).Take(3).ToArray();
        Assert.Equal([608, 608, 608], pp);
        var tg = lengths.Skip(5).ToArray();
        Assert.Equal([601, 602, 603, 601, 602, 603, 601, 602, 603], tg);
    }

    [Fact]
    public void Bench_with_several_sequences_steps_each_of_them_and_counts_their_tokens_together()
    {
        var (network, _) = Recording();
        var result = Assert.Single(BenchRunner.Measure(network, new BenchSettings([0], [5], [2], [3], Repetitions: 1, Threads: 1)));
        Assert.Equal("tg5 @ d2 x3", result.Test.Name);
        Assert.Equal(15, result.Test.Tokens);
        var singleTokenCalls = network.Calls.Where(c => c.Tokens.Length == 1).GroupBy(c => c.Session).ToArray();
        Assert.Equal(3, singleTokenCalls.Length);
        Assert.All(singleTokenCalls, s => Assert.Equal(2 * 5, s.Count())); // warm-up + 1 run of 5 steps, per sequence
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
        Assert.Equal(read * tg.GetProperty("tg").GetDouble() / 1e9, tg.GetProperty("gb_per_s").GetDouble(), 0.01);
        double bandwidth = tg.GetProperty("bandwidth_gb_per_s").GetDouble();
        Assert.True(bandwidth > 0);
        Assert.Equal(100 * tg.GetProperty("gb_per_s").GetDouble() / bandwidth, tg.GetProperty("bandwidth_pct").GetDouble(), 0.1);
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
