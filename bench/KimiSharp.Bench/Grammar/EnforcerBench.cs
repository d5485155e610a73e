using System.Diagnostics;
using System.Text.Json;
using KimiSharp.Grammar;
using KimiSharp.Grammar.Json;
using KimiSharp.Sampling;
using KimiSharp.Tests.Grammar;

namespace KimiSharp.Bench.Grammar;

/// <summary>
/// `enforcer`: the Enforcer on the 163,840-token Kimi-like vocabulary. For every schema of the set (Claude Code's
/// and Codex's tool sets plus our own), compile time (median of several compiles), then mask time per token along
/// seeded random walks through the grammar (each step: compute the mask, pick a random allowed token). Prints
/// mean / p50 / p99 / max mask time and compile times, beside MaskBench's anchors.
/// </summary>
public static class EnforcerBench
{
    public static void Run(string[] args)
    {
        int walks = args.Length > 0 ? int.Parse(args[0]) : 8;
        var sw = Stopwatch.StartNew();
        var vocabulary = KimiLikeVocabulary.Grammar;
        Console.WriteLine($"vocabulary: {vocabulary.Size} tokens, built in {sw.Elapsed.TotalMilliseconds:F0} ms (o200k ranks → BPE data → tokenizer → trie + slices)");
        sw.Restart();
        _ = GrammarVocabulary.FromTokenizer(KimiLikeVocabulary.Tokenizer);
        Console.WriteLine($"GrammarVocabulary.FromTokenizer alone: {sw.Elapsed.TotalMilliseconds:F0} ms");

        var schemas = Schemas().ToList();
        var compileMs = new List<double>();
        var rows = new List<string>();
        var all = new Dictionary<string, List<double>> { ["frequent, cached"] = [], ["frequent, uncached"] = [], ["uniform, cached"] = [], ["uniform, uncached"] = [] };
        var mask = new TokenMask(vocabulary.Size);
        foreach (var (name, schema) in schemas)
        {
            // Compile: median of 5 (the first one includes JIT for the first schema only).
            var times = new List<double>();
            CompiledGrammar grammar = null!;
            for (int i = 0; i < 5; i++)
            {
                double t0 = ThreadClock.NowMicroseconds();
                grammar = JsonSchemaCompiler.Compile(schema);
                times.Add((ThreadClock.NowMicroseconds() - t0) / 1000);
            }
            times.Sort();
            compileMs.Add(times[2]);
            var row = $"| {name} | {times[2]:F2} |";
            foreach (bool frequent in (bool[])[true, false])
            {
                foreach (bool cached in (bool[])[true, false])
                {
                    var cache = cached ? new MaskCache() : null;
                    var random = new Random(name.Length * 31 + (frequent ? 1 : 2));
                    var mine = new List<double>();
                    for (int w = 0; w < walks; w++) Walk(grammar, vocabulary, mask, random, frequent, cache, mine);
                    all[$"{(frequent ? "frequent" : "uniform")}, {(cached ? "cached" : "uncached")}"].AddRange(mine);
                    mine.Sort();
                    row += $" {mine.Average():F1} / {Percentile(mine, 0.99):F0} |";
                }
            }
            rows.Add(row);
        }

        Console.WriteLine();
        Console.WriteLine(ThreadClock.IsThreadTime ? "times are the thread's CPU time (preemption on a shared machine left out)" : "times are wall-clock");
        Console.WriteLine("mask µs as mean / p99; frequent = picks among the 20K most frequent tokens (text-like), uniform = any allowed token (stress)");
        Console.WriteLine("| schema | compile ms | frequent, cached | frequent, uncached | uniform, cached | uniform, uncached |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var row in rows) Console.WriteLine(row);
        Console.WriteLine();
        foreach (var (mode, list) in all)
        {
            list.Sort();
            Console.WriteLine($"{mode}: {list.Count} masks, mean {list.Average():F1} µs, p50 {Percentile(list, 0.5):F1} µs, p99 {Percentile(list, 0.99):F0} µs, max {list[^1]:F0} µs");
        }
        compileMs.Sort();
        Console.WriteLine($"compile per schema: mean {compileMs.Average():F2} ms, median {compileMs[compileMs.Count / 2]:F2} ms, max {compileMs[^1]:F2} ms");
        Console.WriteLine("anchors (MaskBench means): llguidance 47 µs (p99 460 µs), XGrammar 292 µs, llama.cpp GBNF 14.5 ms");
    }

    /// <summary>One generation: mask, pick, accept — until the grammar is complete (closing after 40 tokens).</summary>
    private static void Walk(CompiledGrammar grammar, GrammarVocabulary vocabulary, TokenMask mask, Random random, bool frequent, MaskCache? cache, List<double> times)
    {
        var matcher = new GrammarMatcher(grammar);
        var pool = new List<int>();
        for (int step = 0; step < 400; step++)
        {
            double t0 = ThreadClock.NowMicroseconds();
            if (cache is not null) cache.ComputeMask(matcher, vocabulary, mask.Bits);
            else matcher.ComputeMask(vocabulary, mask.Bits);
            times.Add(ThreadClock.NowMicroseconds() - t0);
            if (matcher.IsAccepting && (step > 40 || random.Next(3) == 0)) return;
            pool.Clear();
            bool closing = step > 40;
            for (int pass = 0; pass < 3 && pool.Count == 0; pass++)
            {
                var bits = mask.Bits;
                for (int w = 0; w < bits.Length; w++)
                {
                    for (ulong word = bits[w]; word != 0; word &= word - 1)
                    {
                        int id = w * 64 + System.Numerics.BitOperations.TrailingZeroCount(word);
                        var b = vocabulary.TokenBytes[id];
                        if (pass == 0 && closing && b is not [(byte)'"' or (byte)'}' or (byte)']', ..]) continue;
                        if (pass <= 1 && frequent && id >= 20000) continue;
                        pool.Add(id);
                    }
                }
            }
            if (pool.Count == 0) return;
            int token = pool[random.Next(pool.Count)];
            bool ok = vocabulary.TokenBytes[token] is { } bytes ? matcher.AcceptBytes(bytes) : matcher.AcceptSpecial(token);
            if (!ok) throw new InvalidOperationException($"the mask allowed token {token} but the matcher refused it");
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    /// <summary>Every tool schema of the real agents' tool sets (<see cref="ToolSetFixtures"/>) and a few of our own.</summary>
    public static IEnumerable<(string Name, string Schema)> Schemas()
    {
        foreach (var (file, _) in ToolSetFixtures.All)
        {
            string set = Path.GetFileNameWithoutExtension(file).Replace("-tools", "").Replace("-responses-request", "");
            foreach (var (name, schema) in ToolSetFixtures.Tools(file)) yield return (set + "/" + name, schema);
        }
        foreach (var (name, schema) in Own) yield return ("own/" + name, schema);
    }

    private static readonly (string, string)[] Own =
    [
        ("weather", """{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["celsius","fahrenheit"]},"days":{"type":"integer","minimum":1,"maximum":14}},"required":["city"],"additionalProperties":false}"""),
        ("person", """{"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":40},"email":{"type":"string","format":"email"},"born":{"type":"string","format":"date"},"id":{"type":"string","format":"uuid"},"score":{"type":"number","minimum":0,"maximum":100},"tags":{"type":"array","items":{"type":"string","maxLength":12},"maxItems":5}},"required":["name","email","born","id"],"additionalProperties":false}"""),
        ("tree", """{"$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/node"},"maxItems":3}},"required":["value"],"additionalProperties":false}},"$ref":"#/$defs/node"}"""),
        ("union", """{"type":"object","properties":{"event":{"anyOf":[{"type":"object","properties":{"kind":{"const":"click"},"x":{"type":"integer"},"y":{"type":"integer"}},"required":["kind","x","y"],"additionalProperties":false},{"type":"object","properties":{"kind":{"const":"key"},"code":{"type":"string","pattern":"^[A-Z][a-z]*$"}},"required":["kind","code"],"additionalProperties":false},{"type":"null"}]}},"required":["event"],"additionalProperties":false}"""),
        ("free-object", """{"type":"object"}"""),
    ];
}

/// <summary>`enforcer-probe`: repeated masks of fixed states, to separate algorithm cost from machine noise.</summary>
public static class EnforcerProbe
{
    public static void Run()
    {
        var vocabulary = KimiLikeVocabulary.Grammar;
        Console.WriteLine($"full trie: {vocabulary.Trie.NodeCount} nodes, {vocabulary.Trie.TokenCount} tokens, depth {vocabulary.Trie.MaxDepth}");
        foreach (var (i, s) in vocabulary.Slices.Select((s, i) => (i, s)))
            Console.WriteLine($"slice {i}: {System.Numerics.BitOperations.PopCount(0) + s.Mask.Sum(w => System.Numerics.BitOperations.PopCount(w))} tokens in mask, rest trie {s.Rest.NodeCount} nodes, {s.Rest.TokenCount} tokens");
        var grammar = JsonSchemaCompiler.Compile("""{"type":"object","properties":{"command":{"type":"string"},"timeout":{"type":"number"}},"required":["command"],"additionalProperties":false}""");
        var mask = new TokenMask(vocabulary.Size);
        foreach (var prefix in (string[])["", "{", "{\"command\":\"ls", "{\"command\":\"ls\"", "{\"command\":\"ls\",\"timeout\":12"])
        {
            var m = new GrammarMatcher(grammar);
            if (!m.AcceptText(prefix)) throw new InvalidOperationException(prefix);
            for (int i = 0; i < 20; i++) m.ComputeMask(vocabulary, mask.Bits);
            double best = double.MaxValue;
            for (int batch = 0; batch < 30; batch++)
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < 10; i++) m.ComputeMask(vocabulary, mask.Bits);
                best = Math.Min(best, sw.Elapsed.TotalMicroseconds / 10);
            }
            Console.WriteLine($"'{prefix}': {best:F1} µs per mask (best batch), {mask.Count} allowed, {m.DebugState(vocabulary)}");
        }
    }
}
