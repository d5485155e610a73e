// Issue 14's served figures, against a real `kimi serve` on loopback:
//   1. aggregate generated tokens/s with 4 concurrent streaming requests vs 1 alone (rounds alternate 1 and 4);
//   2. a repeated 3000-token prompt prefix: the cached fraction and the time to first token against the cold one;
//   3. the same after a restart with the same --cache-dir (the persistent prefix cache).
//
//   dotnet run bench/serve-batching.cs -- [--model FILE] [--threads 2] [--rounds 3] [--tokens 64] [--prefix 3000] [--port 18089]
//
// Run from the repository root after `dotnet build src/KimiSharp.Cli -c Release`. Default model: kimi-bench Q4_K in
// /tmp/kimisharp-speed (made with `kimi make-test-model` when missing). Prompts are token ids (/v1/completions), greedy.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

var options = new Dictionary<string, string>();
for (int i = 0; i + 1 < args.Length; i += 2) options[args[i]] = args[i + 1];
string Opt(string key, string fallback) => options.TryGetValue(key, out var v) ? v : fallback;
int Int(string key, int fallback) => int.Parse(Opt(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
string kimi = Path.GetFullPath("src/KimiSharp.Cli/bin/Release/net10.0/kimi");
if (!File.Exists(kimi)) { Console.Error.WriteLine($"build first: {kimi} not found"); return 1; }
string model = Path.GetFullPath(Opt("--model", "/tmp/kimisharp-speed/kimi-bench-q4_k.gguf"));
int threads = Int("--threads", 2), rounds = Int("--rounds", 3), tokens = Int("--tokens", 64), prefixLength = Int("--prefix", 3000), port = Int("--port", 18089);
if (!File.Exists(model))
{
    Directory.CreateDirectory(Path.GetDirectoryName(model)!);
    Process.Start(kimi, $"make-test-model --shape kimi-bench --type q4_k --out {model}").WaitForExit();
}
string cacheDir = Directory.CreateTempSubdirectory("kimi-serve-bench-cache-").FullName;
string serveArgs = $"serve -m {model} --port {port} -t {threads} --parallel 4 --ctx {prefixLength + 512} --cache-dir {cacheDir}";
var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(30) };
var rng = new Random(14);
int vocab = 0;

Process Start()
{
    Console.Error.WriteLine($"$ kimi {serveArgs}");
    var process = Process.Start(new ProcessStartInfo(kimi, serveArgs) { RedirectStandardError = true })!;
    process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) Console.Error.WriteLine($"  | {line}"); };
    process.BeginErrorReadLine();
    while (true)
    {
        Thread.Sleep(200);   // polling a process we started, not synchronising a test
        if (process.HasExited) throw new InvalidOperationException("kimi serve exited");
        try
        {
            if (http.GetAsync("/health").Result.IsSuccessStatusCode) break;
        }
        catch (AggregateException)
        {
        }
    }
    var models = JsonDocument.Parse(http.GetStringAsync("/v1/models").Result).RootElement;
    vocab = models.GetProperty("data")[0].GetProperty("meta").GetProperty("n_vocab").GetInt32();
    return process;
}

void Stop(Process process)
{
    process.Kill(entireProcessTree: false);   // SIGKILL: the disk tier must already hold what it wrote (files are atomic)
    process.WaitForExit();
}

int[] RandomTokens(int n) => Enumerable.Range(0, n).Select(_ => rng.Next(1, Math.Min(vocab, 30000))).ToArray();

// One /v1/completions request; returns (seconds, completion tokens, cached prompt tokens).
async Task<(double Seconds, int Completion, int Cached)> Complete(int[] prompt, int maxTokens)
{
    var body = new JsonObject
    {
        ["prompt"] = new JsonArray(prompt.Select(t => (JsonNode)t).ToArray()),
        ["max_tokens"] = maxTokens,
        ["temperature"] = 0,
    };
    var watch = Stopwatch.StartNew();
    var reply = await http.PostAsync("/v1/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
    string text = await reply.Content.ReadAsStringAsync();
    double seconds = watch.Elapsed.TotalSeconds;
    if (!reply.IsSuccessStatusCode) throw new InvalidOperationException(text);
    var usage = JsonDocument.Parse(text).RootElement.GetProperty("usage");
    int cached = usage.TryGetProperty("prompt_tokens_details", out var d) ? d.GetProperty("cached_tokens").GetInt32() : 0;
    return (seconds, usage.GetProperty("completion_tokens").GetInt32(), cached);
}

// Generated tokens/s of n requests at once (short distinct prompts, so decoding dominates).
async Task<double> Aggregate(int n)
{
    var watch = Stopwatch.StartNew();
    var runs = await Task.WhenAll(Enumerable.Range(0, n).Select(_ => Complete(RandomTokens(8), tokens)));
    return runs.Sum(r => r.Completion) / watch.Elapsed.TotalSeconds;
}

var server = Start();
await Complete(RandomTokens(8), 4);   // warm-up
var one = new List<double>();
var four = new List<double>();
for (int r = 0; r < rounds; r++)
{
    one.Add(await Aggregate(1));
    four.Add(await Aggregate(4));
    Console.Error.WriteLine(Invariant($"round {r + 1}: 1 stream {one[^1]:F1} tok/s, 4 streams {four[^1]:F1} tok/s ({four[^1] / one[^1]:F2}x)"));
}

// The repeated prefix: a cold request, then the same prefix with another ending.
int[] prefix = RandomTokens(prefixLength);
int[] WithEnding() => [.. prefix, .. RandomTokens(16)];
var cold = await Complete(WithEnding(), 1);
var warm = await Complete(WithEnding(), 1);
Console.Error.WriteLine(Invariant($"prefix: cold {cold.Seconds:F2} s ({cold.Cached} cached), warm {warm.Seconds:F2} s ({warm.Cached} cached)"));
await Task.Delay(2000);   // let the background disk writes of the last blocks land before the kill (the bench's own pacing)
Stop(server);

server = Start();
var restarted = await Complete(WithEnding(), 1);
Console.Error.WriteLine(Invariant($"after restart: {restarted.Seconds:F2} s ({restarted.Cached} cached)"));
Stop(server);
Directory.Delete(cacheDir, recursive: true);

double ratio = Median(one.Zip(four, (a, b) => b / a).ToList());
Console.WriteLine(Invariant($"| served, {tokens} tokens a request | 1 stream {Range(one)} tok/s | 4 streams {Range(four)} tok/s | 4/1 = {ratio:F2}x |"));
Console.WriteLine(Invariant($"| {prefixLength}-token prefix | cold TTFT {cold.Seconds:F2} s | warm {warm.Seconds:F2} s, {100.0 * warm.Cached / prefixLength:F1}% cached, TTFT ratio {warm.Seconds / cold.Seconds:F3} | after restart {restarted.Seconds:F2} s, {100.0 * restarted.Cached / prefixLength:F1}% cached, ratio {restarted.Seconds / cold.Seconds:F3} |"));
return 0;

static double Median(IReadOnlyList<double> x)
{
    var s = x.Order().ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

static string Range(List<double> x) => Invariant($"{x.Min():F1}–{x.Max():F1}");

static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
