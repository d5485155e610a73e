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
        var compileMs = new List<(string Name, double Ms)>();
        var maskUs = new List<double>();
        var perSchemaUs = new List<(string Name, double Mean, double P99)>();
        var mask = new TokenMask(vocabulary.Size);
        foreach (var (name, schema) in schemas)
        {
            // Compile: median of 5 (the first one includes JIT for the first schema only).
            var times = new List<double>();
            CompiledGrammar grammar = null!;
            for (int i = 0; i < 5; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                grammar = JsonSchemaCompiler.Compile(schema);
                times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
            times.Sort();
            compileMs.Add((name, times[2]));

            var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0x7FFFFFFF);
            var mine = new List<double>();
            for (int w = 0; w < walks; w++)
            {
                var matcher = new GrammarMatcher(grammar);
                var text = new System.Text.StringBuilder();
                for (int step = 0; step < 400; step++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    matcher.ComputeMask(vocabulary, mask.Bits);
                    double us = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
                    mine.Add(us);
                    if (us > 3000 && Environment.GetEnvironmentVariable("ENFORCER_DIAG") == "1")
                        Console.WriteLine($"SLOW {us:F0}us {name} step {step} {matcher.DebugState(vocabulary)} allowed {mask.Count} text: {text}");
                    int token = Pick(mask, random);
                    if (token < 0) break; // complete: only end of generation remains
                    bool ok = vocabulary.TokenBytes[token] is { } bytes ? matcher.AcceptBytes(bytes) : matcher.AcceptSpecial(token);
                    text.Append(vocabulary.Describe(token));
                    if (!ok) throw new InvalidOperationException($"{name}: the mask allowed token {token} but the matcher refused it");
                }
            }
            maskUs.AddRange(mine);
            mine.Sort();
            perSchemaUs.Add((name, mine.Average(), Percentile(mine, 0.99)));
        }

        maskUs.Sort();
        Console.WriteLine();
        Console.WriteLine("| schema | compile ms | mask mean µs | mask p99 µs |");
        Console.WriteLine("|---|---:|---:|---:|");
        for (int i = 0; i < schemas.Count; i++)
            Console.WriteLine($"| {schemas[i].Name} | {compileMs[i].Ms:F2} | {perSchemaUs[i].Mean:F1} | {perSchemaUs[i].P99:F0} |");
        var compiles = compileMs.Select(c => c.Ms).Order().ToList();
        Console.WriteLine();
        Console.WriteLine($"mask per token over {maskUs.Count} tokens of {schemas.Count} schemas: mean {maskUs.Average():F1} µs, p50 {Percentile(maskUs, 0.5):F1} µs, p99 {Percentile(maskUs, 0.99):F0} µs, max {maskUs[^1]:F0} µs");
        Console.WriteLine($"compile per schema: mean {compiles.Average():F2} ms, max {compiles[^1]:F2} ms");
        Console.WriteLine("anchors (MaskBench means): llguidance 47 µs (p99 460 µs), XGrammar 292 µs, llama.cpp GBNF 14.5 ms");
    }

    /// <summary>A random allowed text or special token, or -1 when none is allowed (the grammar is complete).</summary>
    private static int Pick(TokenMask mask, Random random)
    {
        int count = mask.Count;
        if (count == 0) return -1;
        int k = random.Next(count);
        var bits = mask.Bits;
        for (int w = 0; w < bits.Length; w++)
        {
            int n = System.Numerics.BitOperations.PopCount(bits[w]);
            if (k >= n)
            {
                k -= n;
                continue;
            }
            ulong word = bits[w];
            for (; k > 0; k--) word &= word - 1;
            return w * 64 + System.Numerics.BitOperations.TrailingZeroCount(word);
        }
        return -1;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    /// <summary>Tool schemas of Claude Code and Codex (fixtures) and a few of our own.</summary>
    public static IEnumerable<(string Name, string Schema)> Schemas()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Grammar", "Fixtures");
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "claude-code-tools.json"))))
            foreach (var tool in doc.RootElement.EnumerateArray())
                yield return ("claude-code/" + tool.GetProperty("name").GetString(), tool.GetProperty("input_schema").GetRawText());
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "codex-tools.json"))))
            foreach (var tool in doc.RootElement.EnumerateArray())
                yield return ("codex/" + tool.GetProperty("name").GetString(), tool.GetProperty("parameters").GetRawText());
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
