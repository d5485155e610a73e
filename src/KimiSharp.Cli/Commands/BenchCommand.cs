using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using KimiSharp.Cli.Bench;
using KimiSharp.Demo;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Cli.Commands;

/// <summary>
/// <c>kimi bench</c>, like llama-bench (and ../shared/llama-bench, its yardstick): prompt processing (pp: P tokens in
/// one forward call) and text generation (tg: N single-token steps), optionally after D tokens of context and with
/// several sequences; random token ids, one warm-up, the median of -r runs. For tg it also reports the weight bytes
/// one token reads and the effective GB/s against this machine's streaming read bandwidth (<c>--bandwidth</c>).
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure prompt and generation speed, like llama-bench");
        var model = new Option<string?>("--model", "-m") { Description = "GGUF file; default: the built-in demo model" };
        var prompt = new Option<string>("-p", "--n-prompt") { Description = "Prompt tokens of the pp tests, comma-separated (0 = none)", DefaultValueFactory = _ => "512" };
        var generate = new Option<string>("-n", "--n-gen") { Description = "Generated tokens of the tg tests, comma-separated (0 = none)", DefaultValueFactory = _ => "128" };
        var depth = new Option<string>("-d", "--n-depth") { Description = "Tokens of context before each test, comma-separated", DefaultValueFactory = _ => "0" };
        var parallel = new Option<string>("-np", "--parallel") { Description = "Sequences generating together in the tg tests, comma-separated (tg is their total tokens/s)", DefaultValueFactory = _ => "1" };
        var repetitions = new Option<int>("-r", "--repetitions") { Description = "Timed runs of each test (after one warm-up); the median is reported", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads", "-t") { Description = "Worker threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var kvType = new Option<string?>("--cache-type", "-ctk") { Description = "KV cache type: f32, f16 or q8_0 (default: f16, or f32 with --exact)" };
        var ubatch = new Option<int>("--ubatch", "-ub") { Description = "Tokens per micro-batch of a prompt", DefaultValueFactory = _ => new ModelOptions(1).MaxBatch };
        var json = new Option<bool>("--json") { Description = "One JSON line per test instead of the table" };
        var bandwidth = new Option<bool>("--bandwidth") { Description = "Only measure this machine's streaming read bandwidth (1 thread and --threads)" };
        var noRepack = new Option<bool>("--no-repack") { Description = "Sum as llama.cpp run with --no-repack does (plain vec_dot/tinyBLAS order; by default KimiSharp follows the kernels llama.cpp uses on the weights it repacks)" };
        var exact = ExactOption.Create();
        foreach (var o in new Option[] { model, prompt, generate, depth, parallel, repetitions, threads, kvType, ubatch, json, bandwidth, noRepack, exact })
            command.Options.Add(o);
        command.SetAction(result => CliErrors.Guard(() =>
        {
            var settings = new BenchSettings(
                BenchSettings.ParseList(result.GetValue(prompt)!, "-p"),
                BenchSettings.ParseList(result.GetValue(generate)!, "-n"),
                BenchSettings.ParseList(result.GetValue(depth)!, "-d"),
                BenchSettings.ParseList(result.GetValue(parallel)!, "-np"),
                result.GetValue(repetitions),
                result.GetValue(threads));
            if (result.GetValue(bandwidth))
                return MeasureBandwidth(settings.Threads, result.GetValue(json));
            settings.Validate();
            var kv = result.GetValue(kvType) is { } kvText ? LogitsCommand.ParseKvType(kvText) : (KvCacheType?)null;
            if (result.GetValue(ubatch) < 1) throw new ArgumentException($"--ubatch must be >= 1 (got {result.GetValue(ubatch)})");
            var options = new ModelOptions(settings.Threads, kv, MaxBatch: result.GetValue(ubatch),
                MatchLlamaCppRepacking: !result.GetValue(noRepack), Exact: result.GetValue(exact));
            return Run(result.GetValue(model), settings, options, result.GetValue(json));
        }));
        return command;
    }

    private static int Run(string? path, BenchSettings settings, ModelOptions options, bool json)
    {
        if (path is null)
        {
            Console.Error.WriteLine(DemoModel.Notice);
            path = DemoModel.EnsureCreated();
        }
        else if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model file not found: {path}");
        }
        using var model = DeepSeek2Model.Load(path, options);
        var tests = settings.Tests();
        var traffic = DecodeTraffic.Of(model.File);
        Console.Error.WriteLine(model.Describe(tests.Max(t => t.D + Math.Max(t.P, t.N))));
        Console.Error.WriteLine($"decode reads {traffic.Describe()}; {(options.Exact ? "exact (llama.cpp's order)" : "default (fastest)")} paths");
        double bandwidth = tests.Any(t => !t.IsPrompt) ? StreamBandwidth.Measure(settings.Threads) : 0;
        if (bandwidth > 0)
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"streaming read bandwidth, {settings.Threads} threads: {bandwidth:F1} GB/s"));

        var context = new BenchContext(Path.GetFileName(path), model.File.TotalFileSize, model.File.Tensors.Sum(t => t.ElementCount),
            settings.Threads, options.Exact, options.CacheType.ToString().ToLowerInvariant(), traffic, model.KvCacheBytesPerToken, bandwidth);
        if (!json)
            BenchReport.WriteHeader(Console.Out);
        BenchRunner.Measure(model, settings, r =>
        {
            if (json) BenchReport.WriteJson(Console.Out, context, r);
            else BenchReport.WriteRow(Console.Out, context, r);
        });
        return 0;
    }

    private static int MeasureBandwidth(int threads, bool json)
    {
        if (threads < 1) throw new ArgumentException($"--threads must be >= 1 (got {threads})");
        int[] counts = threads == 1 ? [1] : [1, threads];
        if (!json)
        {
            Console.WriteLine($"| threads | streaming read GB/s ({StreamBandwidth.BufferBytes >> 20} MiB, median) |");
            Console.WriteLine("| ---: | ---: |");
        }
        foreach (int t in counts)
        {
            double gbs = Math.Round(StreamBandwidth.Measure(t), 2);
            Console.WriteLine(json
                ? JsonSerializer.Serialize(new BandwidthJsonLine("kimisharp", "bandwidth", t, gbs), BenchJson.Default.BandwidthJsonLine)
                : string.Create(CultureInfo.InvariantCulture, $"| {t} | {gbs:F2} |"));
        }
        return 0;
    }
}
