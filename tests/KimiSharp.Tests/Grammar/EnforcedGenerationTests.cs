using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;
using KimiSharp.Chat;
using KimiSharp.Engine;
using KimiSharp.Grammar;
using KimiSharp.Grammar.Json;
using KimiSharp.Sampling;

namespace KimiSharp.Tests.Grammar;

/// <summary>The engine, a random-weight model with the 163,840-token Kimi vocabulary and the Enforcer together.</summary>
public sealed class KimiVocabEngineFixture : IDisposable
{
    public KimiVocabEngineFixture()
    {
        Model = KimiVocabModel.Load(threads: 2);
        Engine = new InferenceEngine(Model, KimiLikeVocabulary.Tokenizer, new EngineOptions { ContextLength = 1024, MaxActiveSequences = 4, PrefixCaching = false });
        Enforcer = new Enforcer(KimiLikeVocabulary.Grammar);
        // Tokens that close a string, object or array: a bias (e^8) so a random model's unbounded strings and arrays
        // end after a few tokens instead of hundreds (a model is free to be this verbose; the test has a budget).
        var closers = new Dictionary<int, float>();
        for (int id = 0; id < KimiLikeVocabulary.FirstSpecial; id++)
            if (KimiLikeVocabulary.Grammar.TokenBytes[id] is [(byte)'"' or (byte)'}' or (byte)']', ..]) closers[id] = 8f;
        Closers = closers;
    }

    internal KimiSharp.Models.DeepSeek2.DeepSeek2Model Model { get; }
    public InferenceEngine Engine { get; }
    public Enforcer Enforcer { get; }
    public IReadOnlyDictionary<int, float> Closers { get; }

    public int[] Prompt(string text) => KimiLikeVocabulary.Tokenizer.Encode(text, parseSpecial: true).ToArray();

    /// <summary>Runs one generation; returns the text, the token ids and why it ended.</summary>
    public async Task<(string Text, List<int> Tokens, FinishReason Reason)> Generate(GenerationRequest request)
    {
        var text = new StringBuilder();
        var tokens = new List<int>();
        FinishReason reason = FinishReason.Cancelled;
        await foreach (var e in Engine.GenerateAsync(request))
        {
            switch (e)
            {
                case TokenEvent t:
                    tokens.Add(t.TokenId);
                    text.Append(t.TextDelta);
                    break;
                case TextEvent t:
                    text.Append(t.TextDelta);
                    break;
                case FinishEvent f:
                    reason = f.Reason;
                    break;
            }
        }
        return (text.ToString(), tokens, reason);
    }

    public void Dispose()
    {
        Engine.Dispose();
        Model.Dispose();
    }
}

public sealed class EnforcedGenerationTests(KimiVocabEngineFixture fixture) : IClassFixture<KimiVocabEngineFixture>
{
    private static readonly EvaluationOptions Validation = new() { RequireFormatValidation = true, OutputFormat = OutputFormat.List };

    [Fact]
    public async Task A_random_model_under_500_generated_schemas_writes_only_valid_json()
    {
        var generator = new SchemaGenerator(163840);
        const int count = 500;
        var schemas = Enumerable.Range(0, count).Select(_ => generator.Next().ToJsonString()).ToArray();
        var results = new string?[count];
        var stopped = new int[1];
        // Four sequences at a time: the engine steps them in turn, the masks are computed while the forward runs.
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            string schema = schemas[i];
            var grammar = fixture.Enforcer.JsonSchema(schema, strict: true);
            var (text, tokens, reason) = await fixture.Generate(new GenerationRequest(fixture.Prompt($"Write JSON {i}:"))
            {
                Sampling = new SamplingParams { Temperature = 1f, Seed = (ulong)i, LogitBias = fixture.Closers },
                MaxTokens = 600,
                Constraint = fixture.Enforcer.Create(grammar),
            });
            Interlocked.Add(ref stopped[0], tokens.Count);
            if (reason != FinishReason.Stop)
            {
                results[i] = $"schema {schema}: ended with {reason} after {text}";
                return;
            }
            try
            {
                using var doc = JsonDocument.Parse(text);
                var result = JsonSchema.FromText(schema).Evaluate(doc.RootElement, Validation);
                results[i] = result.IsValid ? null : $"schema {schema}\noutput {text}\ninvalid";
            }
            catch (JsonException e)
            {
                results[i] = $"schema {schema}\noutput {text}\nnot JSON: {e.Message}";
            }
        });
        var failures = results.Where(r => r is not null).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} invalid:\n" + string.Join("\n\n", failures.Take(3)));
    }

    public static TheoryData<string, string> Grammars => new()
    {
        { "root ::= num ([+*-] num){0,4}\nnum ::= [1-9] [0-9]{0,3}", @"[1-9][0-9]{0,3}([-+*][1-9][0-9]{0,3}){0,4}" },
        { "root ::= \"[\" (item (\", \" item){0,3})? \"]\"\nitem ::= \"\\\"\" [a-z]{1,6} \"\\\"\"", @"\[(""[a-z]{1,6}""(, ""[a-z]{1,6}""){0,3})?\]" },
        { "root ::= (line \"\\n\"){1,3}\nline ::= [A-Z] [a-z]{0,5} \"=\" [0-9]{1,3}", @"([A-Z][a-z]{0,5}=[0-9]{1,3}\n){1,3}" },
        { "root ::= (\"yes\" | \"no\" | \"maybe\") [.!]?", @"(yes|no|maybe)[.!]?" },
    };

    [Theory]
    [MemberData(nameof(Grammars))]
    public async Task Gbnf_outputs_of_a_random_model_match_their_grammar(string gbnf, string equivalentRegex)
    {
        var grammar = fixture.Enforcer.Gbnf(gbnf);
        var regex = new Regex($"^(?:{equivalentRegex})\\z", RegexOptions.CultureInvariant);
        for (int seed = 0; seed < 12; seed++)
        {
            var (text, _, reason) = await fixture.Generate(new GenerationRequest(fixture.Prompt($"Answer {seed}:"))
            {
                Sampling = new SamplingParams { Temperature = 1f, Seed = (ulong)seed },
                MaxTokens = 200,
                Constraint = fixture.Enforcer.Create(grammar),
            });
            Assert.Equal(FinishReason.Stop, reason);
            Assert.Matches(regex, text);
        }
    }

    [Fact]
    public async Task Greedy_output_that_already_satisfies_the_grammar_is_unchanged()
    {
        int checkedRuns = 0;
        for (int seed = 0; seed < 6; seed++)
        {
            var prompt = fixture.Prompt($"Say something {seed * 7919}:");
            var free = await fixture.Generate(new GenerationRequest(prompt) { Sampling = SamplingParams.Greedy, MaxTokens = 24 });
            // Grammars the free output satisfies: any text, and the free output's first half spelled out then any text.
            if (!Utf8Valid(free.Tokens)) continue;
            string half = free.Text[..(free.Text.Length / 2)];
            foreach (var grammar in new[]
            {
                fixture.Enforcer.Gbnf("root ::= .*"),
                fixture.Enforcer.Gbnf($"root ::= {GbnfLiteral(half)} .* | \"unlikely\""),
            })
            {
                var constrained = await fixture.Generate(new GenerationRequest(prompt) { Sampling = SamplingParams.Greedy, MaxTokens = 24, Constraint = fixture.Enforcer.Create(grammar) });
                Assert.Equal(free.Tokens, constrained.Tokens);
            }
            // The default chat constraint (tools auto: free text until a tool-call section) leaves marker-free text alone.
            var tool = new ToolGrammar("get_weather", fixture.Enforcer.ToolArguments("get_weather", """{"type":"object","properties":{"city":{"type":"string"}}}"""));
            var chat = await fixture.Generate(new GenerationRequest(prompt)
            {
                Sampling = SamplingParams.Greedy,
                MaxTokens = 24,
                Constraint = fixture.Enforcer.Create(new ChatConstraintOptions { ToolCalls = ToolCallMode.Auto, Tools = [tool] }),
            });
            Assert.Equal(free.Tokens, chat.Tokens);
            checkedRuns++;
        }
        Assert.True(checkedRuns >= 3, "too few greedy outputs were valid UTF-8 text to compare");
    }

    /// <summary>Only text tokens, no end of generation, and the bytes are valid UTF-8 (so ".*" holds them).</summary>
    private static bool Utf8Valid(List<int> tokens)
    {
        if (tokens.Any(t => KimiLikeVocabulary.Grammar.TokenBytes[t] is null)) return false;
        var bytes = tokens.SelectMany(t => KimiLikeVocabulary.Grammar.TokenBytes[t]!).ToArray();
        try
        {
            _ = new UTF8Encoding(false, true).GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static string GbnfLiteral(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value is '"' or '\\' || rune.Value < 0x20) sb.Append($"\\u{rune.Value:x4}");
            else sb.Append(rune.ToString());
        }
        return sb.Append('"').ToString();
    }
}
