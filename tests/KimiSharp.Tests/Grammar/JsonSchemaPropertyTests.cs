using System.Text.Json;
using Json.Schema;
using KimiSharp.Grammar.Json;
using KimiSharp.Sampling;

namespace KimiSharp.Tests.Grammar;

public class JsonSchemaPropertyTests
{
    private static readonly EvaluationOptions Validation = new() { RequireFormatValidation = true, OutputFormat = OutputFormat.List };

    [Fact]
    public void Random_walks_under_generated_schemas_always_yield_json_that_JsonSchema_Net_accepts()
    {
        var vocabulary = KimiLikeVocabulary.Grammar;
        var generator = new SchemaGenerator(20250905);
        var random = new Random(42);
        var mask = new TokenMask(vocabulary.Size);
        var failures = new List<string>();
        for (int i = 0; i < 150; i++)
        {
            string schemaText = generator.Next().ToJsonString();
            string? problem;
            string output = "";
            try
            {
                var grammar = JsonSchemaCompiler.Compile(schemaText, new JsonSchemaOptions { Strict = true });
                output = RandomWalk.Generate(grammar, vocabulary, random, mask);
                using var doc = JsonDocument.Parse(output);
                var result = JsonSchema.FromText(schemaText).Evaluate(doc.RootElement, Validation);
                problem = result.IsValid ? null : string.Join("; ", (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")));
            }
            catch (JsonException e)
            {
                problem = "not JSON: " + e.Message;
            }
            catch (Exception e) when (e is KimiSharp.Grammar.GrammarException or UnsupportedSchemaException)
            {
                problem = e.Message;
            }
            if (problem is not null) failures.Add($"schema {schemaText}\noutput {output}\n{problem}");
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures.Take(5)));
    }
}
