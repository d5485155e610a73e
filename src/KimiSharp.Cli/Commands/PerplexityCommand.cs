using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using KimiSharp.Models.DeepSeek2;
using KimiSharp.Text;

namespace KimiSharp.Cli.Commands;

/// <summary>
/// <c>kimi perplexity --model FILE --text-file T [--ctx N]</c>, like llama-perplexity: the text is tokenized
/// and cut into chunks of N tokens (the first replaced by BOS when the model adds one); each chunk is evaluated
/// from position 0 and the negative log-likelihood of the second half of its tokens is averaged.
/// </summary>
public static class PerplexityCommand
{
    public static Command Create()
    {
        var command = new Command("perplexity", "Measure perplexity over a text file, like llama-perplexity");
        var model = new Option<string>("--model") { Description = "GGUF file (any part of a split set)", Required = true };
        var textFile = new Option<string>("--text-file") { Description = "UTF-8 text to score", Required = true };
        var ctx = new Option<int>("--ctx") { Description = "Tokens per chunk", DefaultValueFactory = _ => 512 };
        var threads = new Option<int>("--threads") { Description = "Worker threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var chunks = new Option<int>("--chunks") { Description = "Stop after this many chunks (-1: all)", DefaultValueFactory = _ => -1 };
        command.Options.Add(model);
        command.Options.Add(textFile);
        command.Options.Add(ctx);
        command.Options.Add(threads);
        command.Options.Add(chunks);
        var exact = ExactOption.Create();
        command.Options.Add(exact);
        command.SetAction(result => CliErrors.Guard(() =>
        {
            int n = result.GetValue(ctx);
            if (n < 2)
                throw new ArgumentException("--ctx must be at least 2");
            using var m = DeepSeek2Model.Load(result.GetValue(model)!, new ModelOptions(result.GetValue(threads), Exact: result.GetValue(exact)));
            var tokenizer = Tokenizer.FromGguf(m.File.Metadata);
            var tokens = tokenizer.Encode(File.ReadAllText(result.GetValue(textFile)!));
            int available = tokens.Length / n, limit = result.GetValue(chunks);
            int count = limit >= 0 ? Math.Min(limit, available) : available;
            if (count == 0)
                throw new ArgumentException($"the text has {tokens.Length} tokens; need at least --ctx {n} for one chunk");
            Console.Error.WriteLine(m.Describe(n));
            Console.Error.WriteLine($"{tokens.Length} tokens, {count} chunks of {n}");

            var stats = Run(m, tokenizer, tokens, n, count, (chunk, ppl) =>
                Console.Write(string.Create(CultureInfo.InvariantCulture, $"[{chunk + 1}]{ppl:F4},")));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Final estimate: PPL = {stats.Perplexity:F4} +/- {stats.Error:F5}  ({stats.Tokens} scored tokens, {stats.Seconds:F1} s)"));
            return 0;
        }));
        return command;
    }

    public sealed record PerplexityResult(double Perplexity, double Error, int Tokens, double Seconds);

    /// <summary>Scores <paramref name="count"/> chunks of <paramref name="n"/> tokens; the error is llama-perplexity's (delta method).</summary>
    public static PerplexityResult Run(DeepSeek2Model model, Tokenizer tokenizer, int[] tokens, int n, int count, Action<int, double>? progress = null)
    {
        int vocab = model.VocabSize, first = n / 2;
        var logits = new float[(long)n * vocab];
        var chunk = new int[n];
        double nll = 0, nll2 = 0;
        int scored = 0;
        var clock = Stopwatch.StartNew();
        using var session = model.CreateSession(n);
        for (int c = 0; c < count; c++)
        {
            Array.Copy(tokens, c * n, chunk, 0, n);
            if (tokenizer.AddBos)
                chunk[0] = tokenizer.BosId;
            session.Truncate(0);
            session.ForwardAll(chunk, logits);
            // Position j predicts token j+1; score the second half of the chunk.
            for (int j = first; j < n - 1; j++)
            {
                double v = -LogSoftmaxAt(logits.AsSpan(j * vocab, vocab), tokens[c * n + j + 1]);
                nll += v;
                nll2 += v * v;
                scored++;
            }
            progress?.Invoke(c, Math.Exp(nll / scored));
        }
        double mean = nll / scored, mean2 = nll2 / scored;
        double error = scored > 1 ? Math.Sqrt(Math.Max(0, mean2 - mean * mean) / (scored - 1)) : 0;
        double ppl = Math.Exp(mean);
        return new PerplexityResult(ppl, ppl * error, scored, clock.Elapsed.TotalSeconds);
    }

    private static double LogSoftmaxAt(ReadOnlySpan<float> logits, int index)
    {
        float max = float.NegativeInfinity;
        foreach (var v in logits)
            max = Math.Max(max, v);
        double sum = 0;
        foreach (var v in logits)
            sum += Math.Exp(v - max);
        return logits[index] - max - Math.Log(sum);
    }
}
