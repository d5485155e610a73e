using System.CommandLine;
using System.Diagnostics;
using KimiSharp.Engine;
using KimiSharp.Gguf;

namespace KimiSharp.Cli.Commands;

/// <summary>
/// Prompt processing (pp: N tokens in one forward call) and text generation (tg: N single-token steps)
/// speed, like llama-bench: each test repeated, mean ± standard deviation in tokens per second.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure prompt and generation speed");
        var model = new Option<string?>("--model", "-m") { Description = "GGUF file; default: the built-in demo model" };
        var prompt = new Option<int>("-p", "--n-prompt") { Description = "Prompt tokens for the pp test (0 = skip)", DefaultValueFactory = _ => 512 };
        var generate = new Option<int>("-n", "--n-gen") { Description = "Generated tokens for the tg test (0 = skip)", DefaultValueFactory = _ => 128 };
        var repetitions = new Option<int>("-r", "--repetitions") { Description = "Repetitions of each test", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads", "-t") { Description = "Worker threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var noRepack = new Option<bool>("--no-repack") { Description = "Sum as llama.cpp run with --no-repack does (plain vec_dot/tinyBLAS order; by default KimiSharp follows the kernels llama.cpp uses on the weights it repacks)" };
        var exact = ExactOption.Create();
        foreach (var o in new Option[] { model, prompt, generate, repetitions, threads, noRepack, exact }) command.Options.Add(o);
        command.SetAction(result => CliErrors.Guard(() =>
        {
            var settings = new BenchSettings(result.GetValue(prompt), result.GetValue(generate), result.GetValue(repetitions), result.GetValue(threads));
            settings.Validate();
            using var local = LocalModel.Open(result.GetValue(model), settings.Threads, Console.Error, !result.GetValue(noRepack), result.GetValue(exact));
            long size, parameters;
            using (var file = GgufFile.Open(local.Path))
            {
                size = file.TotalFileSize;
                parameters = file.Tensors.Sum(t => t.ElementCount);
            }
            Console.WriteLine("| model | size | params | threads | test | t/s |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
            foreach (var row in Measure(local.Model, settings))
                Console.WriteLine($"| {Path.GetFileName(local.Path)} | {size / (1024.0 * 1024 * 1024):F2} GiB | {parameters / 1e6:F2} M | {settings.Threads} | {row.Test} | {row.Mean:F2} ± {row.StdDev:F2} |");
            return 0;
        }));
        return command;
    }

    /// <summary>Runs the pp and tg tests on fresh sessions (one warm-up run each, not counted).</summary>
    internal static IReadOnlyList<BenchRow> Measure(ILanguageModel model, BenchSettings settings)
    {
        var rows = new List<BenchRow>();
        var rng = new Random(1234);
        var logits = new float[model.VocabSize];
        if (settings.PromptTokens > 0)
        {
            int[] tokens = Enumerable.Range(0, settings.PromptTokens).Select(_ => rng.Next(model.VocabSize)).ToArray();
            rows.Add(Repeat($"pp{settings.PromptTokens}", settings.Repetitions, settings.PromptTokens, () =>
            {
                using var session = model.CreateSession(settings.PromptTokens);
                var watch = Stopwatch.StartNew();
                session.Forward(tokens, logits);
                return watch.Elapsed.TotalSeconds;
            }));
        }
        if (settings.GeneratedTokens > 0)
        {
            rows.Add(Repeat($"tg{settings.GeneratedTokens}", settings.Repetitions, settings.GeneratedTokens, () =>
            {
                using var session = model.CreateSession(settings.GeneratedTokens);
                int token = rng.Next(model.VocabSize);
                var watch = Stopwatch.StartNew();
                for (int i = 0; i < settings.GeneratedTokens; i++)
                {
                    session.Forward([token], logits);
                    token = ArgMax(logits);
                }
                return watch.Elapsed.TotalSeconds;
            }));
        }
        return rows;
    }

    private static BenchRow Repeat(string test, int repetitions, int tokens, Func<double> run)
    {
        run(); // warm-up: page in the weights, JIT the kernels
        var rates = Enumerable.Range(0, repetitions).Select(_ => tokens / Math.Max(run(), 1e-9)).ToArray();
        double mean = rates.Average();
        double sd = rates.Length > 1 ? Math.Sqrt(rates.Sum(r => (r - mean) * (r - mean)) / (rates.Length - 1)) : 0;
        return new BenchRow(test, mean, sd);
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}

internal sealed record BenchSettings(int PromptTokens, int GeneratedTokens, int Repetitions, int Threads)
{
    public void Validate()
    {
        if (PromptTokens < 0 || GeneratedTokens < 0) throw new ArgumentException("-p and -n must be >= 0");
        if (Repetitions < 1) throw new ArgumentException($"-r must be >= 1 (got {Repetitions})");
        if (Threads < 1) throw new ArgumentException($"--threads must be >= 1 (got {Threads})");
    }
}

internal sealed record BenchRow(string Test, double Mean, double StdDev);
