// The README's speed tables (issues 13 and 14): KimiSharp (`kimi bench`) against llama.cpp as its users run it
// (../shared/llama-bench: flash attention auto, F16 KV cache), on the same generated files, same threads, the two
// engines alternating back to back in every round (this host drifts; only ratios measured together mean anything).
//
//   dotnet run bench/speed-tables.cs -- [--models DIR] [--threads 2] [--rounds 2] [--reps 3] [--only TEXT] [--dry-run]
//
// Run from the repository root. Writes the test models into DIR (default /tmp/kimisharp-speed) once, builds
// ../shared/llama-bench in a copy there, prints every command it runs, then the markdown tables.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

var options = new Dictionary<string, string>();
bool dryRun = false;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--dry-run") { dryRun = true; continue; }
    if (!args[i].StartsWith("--") || i + 1 >= args.Length) { Console.Error.WriteLine($"bad argument {args[i]}"); return 1; }
    options[args[i]] = args[++i];
}
string Opt(string key, string fallback) => options.TryGetValue(key, out var v) ? v : fallback;
string models = Path.GetFullPath(Opt("--models", "/tmp/kimisharp-speed"));
int threads = int.Parse(Opt("--threads", "2"), CultureInfo.InvariantCulture);
int rounds = int.Parse(Opt("--rounds", "2"), CultureInfo.InvariantCulture);
int reps = int.Parse(Opt("--reps", "3"), CultureInfo.InvariantCulture);
string only = Opt("--only", "");
if (!File.Exists("KimiSharp.slnx")) { Console.Error.WriteLine("run this from the repository root"); return 1; }
string sharedBench = Path.GetFullPath(Path.Combine("..", "shared", "llama-bench"));
if (!File.Exists(Path.Combine(sharedBench, "Program.cs"))) { Console.Error.WriteLine($"llama-bench not found at {sharedBench}"); return 1; }
Directory.CreateDirectory(models);

string kimi = Path.GetFullPath("src/KimiSharp.Cli/bin/Release/net10.0/kimi");
string llamaDll = Path.Combine(models, "llama-bench-bin", "LlamaBench.dll");

// The files of the issues' "done when" tables: name → make-test-model arguments.
var files = new (string Name, string Make)[]
{
    ("kimi-bench-q4_k.gguf", "--shape kimi-bench --type q4_k"),
    ("kimi-bench-ud-iq2_xxs.gguf", "--shape kimi-bench --ud-experts iq2_xxs"),
    ("kimi-k2-3l-64e-ud-iq2_xxs.gguf", "--shape kimi-k2 --layers 3 --experts 64 --ud-experts iq2_xxs"),
    ("kimi-tiny.gguf", "--shape kimi-tiny"),
};
// One row per measurement: file, test (p, n, d, np) and the goal (ratio KimiSharp / llama.cpp; 0 = reported only).
var rows = new (string File, int P, int N, int D, int Np, double Goal)[]
{
    ("kimi-bench-q4_k.gguf", 512, 0, 0, 1, 1.5),
    ("kimi-bench-q4_k.gguf", 0, 128, 0, 1, 1.3),
    ("kimi-bench-q4_k.gguf", 0, 64, 0, 4, 1.3),
    ("kimi-bench-ud-iq2_xxs.gguf", 512, 0, 0, 1, 1.5),
    ("kimi-bench-ud-iq2_xxs.gguf", 0, 128, 0, 1, 1.3),
    ("kimi-k2-3l-64e-ud-iq2_xxs.gguf", 0, 64, 2048, 1, 2.0),
    ("kimi-k2-3l-64e-ud-iq2_xxs.gguf", 512, 0, 0, 1, 0),
    ("kimi-k2-3l-64e-ud-iq2_xxs.gguf", 0, 128, 0, 1, 0),
    ("kimi-k2-3l-64e-ud-iq2_xxs.gguf", 512, 0, 4096, 1, 0),
    ("kimi-tiny.gguf", 8192, 0, 0, 1, 1.5),
};
rows = rows.Where(r => r.File.Contains(only, StringComparison.Ordinal)).ToArray();

string Run(string file, string arguments, bool echo = true)
{
    if (echo) Console.Error.WriteLine($"$ {file} {arguments}");
    if (dryRun) return "";
    var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true };
    using var process = Process.Start(info)!;
    string output = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0) throw new InvalidOperationException($"'{file} {arguments}' exited with {process.ExitCode}");
    return output;
}

Run("dotnet", "build src/KimiSharp.Cli -c Release -v q -nologo");
if (!File.Exists(llamaDll))
{
    // ../shared is read-only reference material: build a copy.
    string source = Path.Combine(models, "llama-bench-src");
    Directory.CreateDirectory(source);
    foreach (var name in new[] { "Program.cs", "LlamaBench.csproj" })
        File.Copy(Path.Combine(sharedBench, name), Path.Combine(source, name), overwrite: true);
    Run("dotnet", $"build {source} -c Release -v q -nologo -o {Path.GetDirectoryName(llamaDll)}");
}
foreach (var (name, make) in files.Where(f => rows.Any(r => r.File == f.Name)))
{
    string path = Path.Combine(models, name);
    if (!File.Exists(path)) Run(kimi, $"make-test-model {make} --out {path}");
}

string Common(string path, (string File, int P, int N, int D, int Np, double Goal) row) =>
    $"-m {path} -p {row.P} -n {row.N} -d {row.D} -np {row.Np} -t {threads} -r {reps}";
double bandwidth = dryRun ? 0 : JsonDocument.Parse(Run(kimi, $"bench --bandwidth -t {threads} --json").Trim().Split('\n')[^1]).RootElement.GetProperty("gb_per_s").GetDouble();

var results = new List<(string File, string Test, double[] Ours, double[] Theirs, double Goal, double? OursPct, double? TheirsPct, string OursCmd, string TheirsCmd)>();
foreach (var row in rows)
{
    string path = Path.Combine(models, row.File);
    string oursArgs = $"bench {Common(path, row)} --json";
    string theirsArgs = $"{llamaDll} {Common(path, row)}";
    var ours = new List<double>();
    var theirs = new List<double>();
    double? oursPct = null, bytesPerToken = null;
    for (int round = 0; round < rounds; round++)
    {
        // Alternate who goes first, so drift over the round affects both alike.
        foreach (bool oursFirst in round % 2 == 0 ? new[] { true, false } : new[] { false, true })
        {
            if (oursFirst)
            {
                var line = Run(kimi, oursArgs, echo: round == 0).Split('\n').LastOrDefault(l => l.StartsWith('{'));
                if (line is null) continue;
                var json = JsonDocument.Parse(line).RootElement;
                ours.Add(json.GetProperty(row.P > 0 ? "pp" : "tg").GetDouble());
                if (row.N > 0)
                {
                    oursPct = json.GetProperty("bandwidth_pct").GetDouble();
                    bytesPerToken = json.GetProperty("weight_bytes_per_token").GetDouble() + json.GetProperty("kv_bytes_per_token").GetDouble();
                }
            }
            else
            {
                var line = Run("dotnet", theirsArgs, echo: round == 0).Split('\n').LastOrDefault(l => l.StartsWith('{'));
                if (line is null) continue;
                theirs.Add(JsonDocument.Parse(line).RootElement.GetProperty(row.P > 0 ? "pp" : "tg").GetDouble());
            }
        }
    }
    string test = (row.P > 0 ? $"pp{row.P}" : $"tg{row.N}") + (row.D > 0 ? $" @ d{row.D}" : "") + (row.Np > 1 ? $" x{row.Np}" : "");
    double? theirsPct = bytesPerToken is { } b && bandwidth > 0 && theirs.Count > 0 ? Math.Round(100 * b * Median(theirs) / 1e9 / bandwidth, 1) : null;
    // The commands as a reader runs them from the repository root (the script runs the same builds directly).
    results.Add((row.File, test, ours.ToArray(), theirs.ToArray(), row.Goal, oursPct, theirsPct, $"kimi {oursArgs}",
        $"dotnet run -c Release --project ../shared/llama-bench -- {Common(path, row)}"));
}

string cpu = File.Exists("/proc/cpuinfo")
    ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "?"
    : "?";
Console.WriteLine($"Machine: {cpu}, {Environment.ProcessorCount} logical CPUs, -t {threads}; streaming read {bandwidth:F1} GB/s (`kimi bench --bandwidth -t {threads}`).");
Console.WriteLine($"Each figure: median of {reps} runs after a warm-up; {rounds} rounds alternating the engines; ratio = median of the per-round ratios.");
foreach (var group in results.GroupBy(r => r.File))
{
    Console.WriteLine();
    Console.WriteLine($"**{group.Key}** (`kimi make-test-model {files.First(f => f.Name == group.Key).Make}`)");
    Console.WriteLine();
    Console.WriteLine("| test | KimiSharp tok/s | llama.cpp tok/s | ratio | goal | tg % of bandwidth (ours / llama.cpp) |");
    Console.WriteLine("|---|--:|--:|--:|--:|--:|");
    foreach (var r in group)
    {
        var ratios = r.Ours.Zip(r.Theirs, (a, b) => a / b).ToArray();
        string ratio = ratios.Length == 0 ? "–" : Invariant($"{Median(ratios):F2}");
        string goal = r.Goal > 0 ? Invariant($"≥ {r.Goal:F1}×") + (ratios.Length > 0 ? Median(ratios) >= r.Goal ? " ✓" : " ✗" : "") : "reported";
        string pct = r.OursPct is { } o ? Invariant($"{o:F1}% / {r.TheirsPct:F1}%") : "";
        Console.WriteLine($"| {r.Test} | {Range(r.Ours)} | {Range(r.Theirs)} | {ratio} | {goal} | {pct} |");
    }
    Console.WriteLine();
    foreach (var r in group)
        Console.WriteLine($"    {r.OursCmd}\n    {r.TheirsCmd}");
}
return 0;

static double Median(IReadOnlyList<double> x)
{
    var s = x.Order().ToArray();
    return s.Length == 0 ? 0 : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

static string Range(double[] x) => x.Length == 0 ? "–" : x.Length == 1 ? Invariant($"{x[0]:F1}") : Invariant($"{x.Min():F1}–{x.Max():F1}");

static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
