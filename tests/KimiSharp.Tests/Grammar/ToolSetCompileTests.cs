using System.Text.Json;
using Json.Schema;
using KimiSharp.Grammar;
using KimiSharp.Grammar.Json;
using KimiSharp.Sampling;

namespace KimiSharp.Tests.Grammar;

/// <summary>Real agents' complete tool sets compile into argument grammars, every keyword enforced (none loosened but a maxLength above 4096).</summary>
public class ToolSetCompileTests
{
    private static readonly EvaluationOptions Validation = new() { RequireFormatValidation = true, OutputFormat = OutputFormat.List };

    public static TheoryData<string, int> Fixtures()
    {
        var data = new TheoryData<string, int>();
        foreach (var (file, tools) in ToolSetFixtures.All) data.Add(file, tools);
        return data;
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Agent_tool_sets_compile_with_every_keyword_enforced_and_walks_validate(string fixture, int expectedTools)
    {
        var log = new List<string>();
        var enforcer = new Enforcer(KimiLikeVocabulary.Grammar, log.Add);
        var tools = ToolSetFixtures.Tools(fixture);
        Assert.Equal(expectedTools, tools.Count);
        var random = new Random(expectedTools);
        var mask = new TokenMask(KimiLikeVocabulary.Grammar.Size);
        foreach (var (name, schema) in tools)
        {
            // The call's grammar (arguments, then <|tool_call_end|>) as the chat constraint uses it.
            var call = new GrammarMatcher(enforcer.ToolArguments(name, schema));
            Assert.True(call.AcceptText("{"), name);
            Assert.False(call.IsAccepting, name);
            // The same schema's JSON, walked with the real mask: what it allows is what JsonSchema.Net accepts.
            var json = JsonSchemaCompiler.Compile(schema, new JsonSchemaOptions { Strict = false, Loosened = log.Add });
            for (int walk = 0; walk < 3; walk++)
            {
                string output = RandomWalk.Generate(json, KimiLikeVocabulary.Grammar, random, mask);
                using var doc = JsonDocument.Parse(output);
                var result = JsonSchema.FromText(schema).Evaluate(doc.RootElement, Validation);
                Assert.True(result.IsValid, $"{name}: {output}");
            }
        }
        // Only bounds too large to build are left out (Claude Code 2.1.328's Workflow script: maxLength 524288).
        var loosened = log.Where(m => !m.Contains("is above 4096; not enforced", StringComparison.Ordinal)).ToList();
        Assert.True(loosened.Count == 0, string.Join("\n", loosened));
    }

    [Fact]
    public void A_tool_schema_that_cannot_be_compiled_falls_back_to_any_object_instead_of_failing()
    {
        var log = new List<string>();
        var enforcer = new Enforcer(KimiLikeVocabulary.Grammar, log.Add);
        var grammar = enforcer.ToolArguments("bad", """{"type":"object","properties":{"a":{"$ref":"#/nowhere"}}}""");
        Assert.True(new GrammarMatcher(grammar).AcceptText("""{"anything":[1,2]}"""));
        Assert.Contains(log, m => m.Contains("'bad'", StringComparison.Ordinal));
        var loosened = enforcer.ToolArguments("loose", """{"type":"object","properties":{"n":{"type":"integer","multipleOf":5}},"required":["n"]}""");
        Assert.True(new GrammarMatcher(loosened).AcceptText("""{"n":7}"""));
        Assert.Contains(log, m => m.Contains("multipleOf", StringComparison.Ordinal));
    }
}
