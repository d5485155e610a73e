using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace KimiSharp.Cli.Bench;

/// <summary>
/// What is known about the measured model for the report: its name, size and parameter count, the bytes one decoded
/// token reads, the KV bytes per cached token, and the streaming read bandwidth measured in the same run (0 if not).
/// </summary>
internal sealed record BenchContext(string Model, long FileBytes, long Parameters, int Threads, bool Exact, string KvType,
    DecodeTraffic Traffic, long KvBytesPerToken, double BandwidthGbPerS);

/// <summary>Prints results as llama-bench's markdown table, or as one JSON line per test (<c>--json</c>).</summary>
internal static class BenchReport
{
    public static void WriteHeader(TextWriter output)
    {
        output.WriteLine("| model | size | params | threads | test | t/s (median, min–max) | GB/s | % of bandwidth |");
        output.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    }

    public static void WriteRow(TextWriter output, BenchContext context, BenchResult result)
    {
        var line = ToJson(context, result);
        output.WriteLine(Invariant($"| {context.Model} | {context.FileBytes / (1024.0 * 1024 * 1024):F2} GiB | {context.Parameters / 1e6:F2} M | {context.Threads} | ") +
            Invariant($"{result.Test.Name} | {result.Median:F2} ({result.Rates.Min():F2}–{result.Rates.Max():F2}) | ") +
            (line.GbPerS is { } gbs ? Invariant($"{gbs:F2} | ") : "| ") +
            (line.BandwidthPct is { } pct ? Invariant($"{pct:F1}% |") : "|"));
    }

    public static void WriteJson(TextWriter output, BenchContext context, BenchResult result) =>
        output.WriteLine(JsonSerializer.Serialize(ToJson(context, result), BenchJson.Default.BenchJsonLine));

    /// <summary>
    /// The JSON of one test: the fields ../shared/llama-bench prints (pp, tg, p, n, d, np, t, reps, pp_runs, tg_runs)
    /// and, for tg, the bytes read per token (weights, and the KV cache at the mean context of the run), the effective
    /// GB/s and its share of the streaming read bandwidth.
    /// </summary>
    public static BenchJsonLine ToJson(BenchContext context, BenchResult result)
    {
        var test = result.Test;
        var runs = result.Rates.Select(Round).ToArray();
        long? weights = null, kv = null;
        double? gbs = null, pct = null;
        if (!test.IsPrompt)
        {
            weights = context.Traffic.PerTokenInStepOf(test.Np);
            // The token at position D+k attends to D+k+1 cached rows: over k = 0..N−1 that is D + (N+1)/2 on average.
            kv = (long)(context.KvBytesPerToken * (test.D + (test.N + 1) / 2.0));
            gbs = Round((weights.Value + kv.Value) * result.Median / 1e9);
            if (context.BandwidthGbPerS > 0)
                pct = Math.Round(100 * gbs.Value / context.BandwidthGbPerS, 1);
        }
        return new BenchJsonLine(
            "kimisharp", context.Model, test.Name,
            test.IsPrompt ? Round(result.Median) : 0, test.IsPrompt ? 0 : Round(result.Median),
            test.P, test.N, test.D, test.Np, context.Threads, result.Rates.Length,
            test.IsPrompt ? runs : [], test.IsPrompt ? [] : runs,
            context.Exact, context.KvType,
            weights, kv, gbs, context.BandwidthGbPerS > 0 ? Round(context.BandwidthGbPerS) : null, pct);
    }

    private static double Round(double value) => Math.Round(value, 2);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <param name="WeightBytesPerToken">tg: weights one token reads; with np &gt; 1, a step's (see <see cref="DecodeTraffic.PerTokenInStepOf"/>) divided by np.</param>
/// <param name="KvBytesPerToken">tg: KV cache bytes one token reads at the run's mean context.</param>
internal sealed record BenchJsonLine(
    string Engine, string Model, string Test, double Pp, double Tg, int P, int N, int D, int Np, int T, int Reps,
    double[] PpRuns, double[] TgRuns, bool Exact, string Kv,
    long? WeightBytesPerToken, long? KvBytesPerToken, double? GbPerS, double? BandwidthGbPerS, double? BandwidthPct);

/// <summary><c>kimi bench --bandwidth --json</c>: the streaming read bandwidth with <paramref name="T"/> threads.</summary>
internal sealed record BandwidthJsonLine(string Engine, string Test, int T, double GbPerS);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(BenchJsonLine))]
[JsonSerializable(typeof(BandwidthJsonLine))]
internal sealed partial class BenchJson : JsonSerializerContext;
