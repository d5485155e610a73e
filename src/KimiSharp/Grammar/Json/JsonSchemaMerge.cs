using System.Text.Json;
using System.Text.Json.Nodes;

namespace KimiSharp.Grammar.Json;

/// <summary>
/// Best-effort intersection of schemas (allOf, and keywords beside anyOf/oneOf): types intersected, properties
/// merged (a property in both becomes allOf of the two), required united, bounds tightened, enums intersected,
/// patterns collected (all enforced), unions distributed. What cannot be merged keeps the first schema's word.
/// </summary>
internal static class JsonSchemaMerge
{
    /// <summary>Internal keyword carrying the extra patterns of merged schemas.</summary>
    public const string ExtraPatterns = "x-kimisharp-patterns";

    private static readonly string[] Lower = ["minimum", "exclusiveMinimum", "minLength", "minItems"];
    private static readonly string[] Upper = ["maximum", "exclusiveMaximum", "maxLength", "maxItems"];

    public static JsonElement AllOf(JsonElement schema, JsonElement allOf, JsonSchemaCompiler compiler, string path)
    {
        if (allOf.ValueKind != JsonValueKind.Array) throw new GrammarException($"{path}/allOf: must be an array");
        return Merge([Without(schema, "allOf"), .. allOf.EnumerateArray()], compiler, path);
    }

    public static JsonElement Without(JsonElement schema, string keyword)
    {
        var node = JsonObject.Create(schema)!.DeepClone().AsObject();
        node.Remove(keyword);
        return JsonSerializer.SerializeToElement(node, JsonNodeContext.Default.JsonObject);
    }

    public static JsonElement Merge(IReadOnlyList<JsonElement> parts, JsonSchemaCompiler compiler, string path)
    {
        var result = new JsonObject();
        foreach (var part in Flatten(parts, compiler, path, 0))
        {
            if (part.ValueKind == JsonValueKind.True) continue;
            if (part.ValueKind == JsonValueKind.False) return JsonSerializer.SerializeToElement(false, JsonNodeContext.Default.Boolean);
            if (part.ValueKind != JsonValueKind.Object) throw new GrammarException($"{path}/allOf: entries must be schemas");
            foreach (var property in part.EnumerateObject()) MergeKeyword(result, property.Name, property.Value, compiler, path);
        }
        return JsonSerializer.SerializeToElement(result, JsonNodeContext.Default.JsonObject);
    }

    /// <summary>Parts with their top-level $ref resolved and nested allOf spliced in.</summary>
    private static IEnumerable<JsonElement> Flatten(IEnumerable<JsonElement> parts, JsonSchemaCompiler compiler, string path, int depth)
    {
        if (depth > 32) throw new GrammarException($"{path}: allOf/$ref nesting is too deep");
        foreach (var part in parts)
        {
            if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("$ref", out var r) && r.ValueKind == JsonValueKind.String && r.GetString()!.StartsWith('#'))
            {
                foreach (var p in Flatten([compiler.Resolve(r.GetString()!, path), Without(part, "$ref")], compiler, path, depth + 1)) yield return p;
            }
            else if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("allOf", out var nested) && nested.ValueKind == JsonValueKind.Array)
            {
                foreach (var p in Flatten([Without(part, "allOf"), .. nested.EnumerateArray()], compiler, path, depth + 1)) yield return p;
            }
            else yield return part;
        }
    }

    private static void MergeKeyword(JsonObject result, string name, JsonElement value, JsonSchemaCompiler compiler, string path)
    {
        var existing = result[name];
        var node = JsonNode.Parse(value.GetRawText());
        if (existing is null)
        {
            result[name] = node;
            return;
        }
        switch (name)
        {
            case "type":
                var a = TypeSet(existing);
                var b = TypeSet(node!);
                var both = a.Where(t => b.Contains(t) || (t == "integer" && b.Contains("number"))).ToList();
                both.AddRange(b.Where(t => t == "integer" && a.Contains("number") && !both.Contains("integer")));
                result[name] = new JsonArray(both.Select(t => (JsonNode)JsonValue.Create(t)!).ToArray());
                break;
            case "properties":
                foreach (var (key, schema) in node!.AsObject())
                {
                    var mine = existing[key];
                    existing[key] = mine is null ? schema?.DeepClone() : new JsonObject { ["allOf"] = new JsonArray(mine.DeepClone(), schema?.DeepClone()) };
                }
                break;
            case "required":
                var names = existing.AsArray().Select(n => n!.GetValue<string>()).ToHashSet();
                foreach (var n in node!.AsArray()) if (names.Add(n!.GetValue<string>())) existing.AsArray().Add(n.GetValue<string>());
                break;
            case "enum":
                var keep = node!.AsArray().Select(n => n?.ToJsonString()).ToHashSet();
                result[name] = new JsonArray(existing.AsArray().Where(n => keep.Contains(n?.ToJsonString())).Select(n => n?.DeepClone()).ToArray());
                break;
            case "items" or "additionalProperties":
                if (value.ValueKind == JsonValueKind.False || existing.GetValueKind() == JsonValueKind.False) result[name] = false;
                else if (value.ValueKind == JsonValueKind.Object && existing.GetValueKind() == JsonValueKind.Object)
                    result[name] = new JsonObject { ["allOf"] = new JsonArray(existing.DeepClone(), node) };
                break;
            case "pattern":
                var extra = result[ExtraPatterns] as JsonArray ?? new JsonArray();
                extra.Add(value.GetString());
                result[ExtraPatterns] = extra;
                break;
            case "nullable":
                result[name] = existing.GetValueKind() == JsonValueKind.True && value.ValueKind == JsonValueKind.True;
                break;
            case "anyOf" or "oneOf":
                // (a1|a2) ∧ (b1|b2) = (a1∧b1)|(a1∧b2)|…, while small.
                var left = existing.AsArray();
                var right = node!.AsArray();
                if (left.Count * right.Count > 64)
                {
                    compiler.Loosen($"{name} (too many combinations in allOf)", path);
                    break;
                }
                result[name] = new JsonArray(left.SelectMany(l => right.Select(r => (JsonNode)new JsonObject { ["allOf"] = new JsonArray(l?.DeepClone(), r?.DeepClone()) })).ToArray());
                break;
            default:
                if (Lower.Contains(name) && value.ValueKind == JsonValueKind.Number && existing.GetValueKind() == JsonValueKind.Number)
                    result[name] = Math.Max(existing.GetValue<decimal>(), value.GetDecimal());
                else if (Upper.Contains(name) && value.ValueKind == JsonValueKind.Number && existing.GetValueKind() == JsonValueKind.Number)
                    result[name] = Math.Min(existing.GetValue<decimal>(), value.GetDecimal());
                else if (name == "const" && existing.ToJsonString() != node?.ToJsonString())
                    result["enum"] = new JsonArray(); // contradictory constants: nothing matches
                break;
        }
    }

    private static List<string> TypeSet(JsonNode node) => node.GetValueKind() == JsonValueKind.Array
        ? node.AsArray().Select(n => n!.GetValue<string>()).ToList()
        : [node.GetValue<string>()];
}

[System.Text.Json.Serialization.JsonSerializable(typeof(JsonObject))]
[System.Text.Json.Serialization.JsonSerializable(typeof(bool))]
internal sealed partial class JsonNodeContext : System.Text.Json.Serialization.JsonSerializerContext;
