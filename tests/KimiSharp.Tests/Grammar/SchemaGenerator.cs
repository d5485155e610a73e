using System.Text.Json.Nodes;

namespace KimiSharp.Tests.Grammar;

/// <summary>
/// Random JSON Schemas using every keyword the Enforcer supports, nested: types (and type unions with null),
/// enum, const, anyOf, oneOf (alternatives of different types, so exactly one matches), allOf (parts that merge
/// exactly), $ref/$defs (recursive too), properties/required/additionalProperties, items/prefixItems/minItems/
/// maxItems, minLength/maxLength/pattern/format, minimum/maximum/exclusive bounds. Every schema is satisfiable
/// and means the same to JsonSchema.Net (draft 2020-12) as to the Enforcer.
/// </summary>
internal sealed class SchemaGenerator(int seed)
{
    private readonly Random _random = new(seed);

    private static readonly string[] Patterns =
    [
        "^[a-z]{1,8}$", "^[A-Z][a-z]{0,5}-[0-9]{2,4}$", "^(foo|bar|baz)[0-9]?$", "^\\d{3}-\\d{4}$", "^[a-f0-9]{8}$", "^v\\d{1,3}\\.\\d{1,3}(\\.\\d{1,3})?$",
        "^[^ ]{2,6}$", "ab", "^x", "[0-9]$",
    ];

    private static readonly string[] Formats = ["date", "time", "date-time", "uuid", "email", "uri", "ipv4"];
    private static readonly string[] Words = ["id", "name", "count", "tags", "value", "kind", "x", "path", "ok", "items", "meta", "score", "a b", "ü"];

    public JsonObject Next()
    {
        var defs = new JsonObject();
        var root = Schema(depth: 0, defs);
        if (defs.Count > 0) root["$defs"] = defs;
        return root;
    }

    private bool Chance(double p) => _random.NextDouble() < p;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    private JsonObject Schema(int depth, JsonObject defs)
    {
        int roll = _random.Next(100);
        if (depth >= 3 || roll < 35) return Scalar();
        if (roll < 60) return Object(depth, defs);
        if (roll < 75) return Array(depth, defs);
        if (roll < 82) return Union(depth, defs);
        if (roll < 88) return AllOf();
        if (roll < 94) return Ref(depth, defs);
        return Recursive(defs);
    }

    private JsonObject Scalar()
    {
        var s = _random.Next(9) switch
        {
            0 => StringSchema(),
            1 => StringSchema(),
            2 => IntegerSchema(),
            3 => NumberSchema(),
            4 => new JsonObject { ["type"] = "boolean" },
            5 => new JsonObject { ["enum"] = new JsonArray("red", 3, null, true, new JsonObject { ["k"] = new JsonArray(1, "two") }, "quote\"and\\slash") },
            6 => new JsonObject { ["const"] = Pick<JsonNode?>(["fixed", 42, false, new JsonArray(1, 2)])?.DeepClone() },
            7 => new JsonObject { ["type"] = "null" },
            _ => StringSchema(),
        };
        if (s["type"] is JsonValue t && t.GetValue<string>() != "null" && Chance(0.15))
            s["type"] = new JsonArray(t.GetValue<string>(), "null"); // nullable union
        return s;
    }

    private JsonObject StringSchema()
    {
        var s = new JsonObject { ["type"] = "string" };
        switch (_random.Next(6))
        {
            case 0:
                break; // unbounded
            case 1:
                int min = _random.Next(0, 4);
                s["minLength"] = min;
                s["maxLength"] = min + _random.Next(0, 12);
                break;
            case 2:
                s["pattern"] = Pick(Patterns);
                if (s["pattern"]!.GetValue<string>() is "ab" or "^x" or "[0-9]$") s["maxLength"] = 12;
                break;
            case 3:
                s["format"] = Pick(Formats);
                break;
            case 4:
                s["maxLength"] = _random.Next(1, 30);
                break;
            default:
                s["enum"] = new JsonArray("alpha", "beta", "gamma delta", "ünï");
                break;
        }
        return s;
    }

    private JsonObject IntegerSchema()
    {
        var s = new JsonObject { ["type"] = "integer" };
        long lo = _random.Next(-1000, 1000), hi = lo + _random.Next(0, 5000);
        if (Chance(0.6)) s[Chance(0.3) ? "exclusiveMinimum" : "minimum"] = lo;
        if (Chance(0.6)) s[Chance(0.3) ? "exclusiveMaximum" : "maximum"] = hi + 2;
        return s;
    }

    private JsonObject NumberSchema()
    {
        var s = new JsonObject { ["type"] = "number" };
        decimal lo = Math.Round((decimal)(_random.NextDouble() * 200 - 100), _random.Next(0, 3));
        decimal hi = lo + Math.Round((decimal)(_random.NextDouble() * 50), _random.Next(0, 3)) + 0.5m;
        if (Chance(0.6)) s[Chance(0.3) ? "exclusiveMinimum" : "minimum"] = lo;
        if (Chance(0.6)) s[Chance(0.3) ? "exclusiveMaximum" : "maximum"] = hi;
        return s;
    }

    private JsonObject Object(int depth, JsonObject defs)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        int n = _random.Next(0, 4);
        foreach (var name in Words.OrderBy(_ => _random.Next()).Take(n))
        {
            properties[name] = Schema(depth + 1, defs);
            if (Chance(0.6)) required.Add(name);
        }
        var s = new JsonObject { ["type"] = "object", ["properties"] = properties };
        if (required.Count > 0) s["required"] = required;
        switch (_random.Next(4))
        {
            case 0 or 1: s["additionalProperties"] = false; break;
            case 2 when depth >= 1: s["additionalProperties"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0, ["maximum"] = 9 }; break;
            default: break; // absent: the Enforcer writes only declared properties (valid either way)
        }
        return s;
    }

    private JsonObject Array(int depth, JsonObject defs)
    {
        var s = new JsonObject { ["type"] = "array" };
        int min = _random.Next(0, 3), max = min + _random.Next(0, 3);
        if (Chance(0.4))
        {
            var prefix = new JsonArray();
            for (int i = 0, k = _random.Next(1, 3); i < k; i++) prefix.Add(Schema(depth + 1, defs));
            s["prefixItems"] = prefix;
            s["items"] = Chance(0.5) ? false : Scalar();
            if (s["items"] is JsonValue)
            {
                min = Math.Min(min, prefix.Count);
                max = Math.Max(min, Math.Min(max, prefix.Count));
            }
        }
        else s["items"] = Schema(depth + 1, defs);
        s["minItems"] = min;
        s["maxItems"] = max;
        return s;
    }

    private JsonObject Union(int depth, JsonObject defs)
    {
        if (Chance(0.5))
            return new JsonObject { ["anyOf"] = new JsonArray(Schema(depth + 1, defs), Schema(depth + 1, defs), new JsonObject { ["type"] = "null" }) };
        // oneOf: alternatives of pairwise different types, so exactly one matches.
        var types = new List<Func<JsonObject>> { StringSchema, IntegerSchema, () => new JsonObject { ["type"] = "boolean" }, () => new JsonObject { ["type"] = "null" },
            () => Object(depth + 1, defs).Also(o => o.Remove("additionalProperties")).Also(o => o["additionalProperties"] = false) };
        var oneOf = new JsonArray(types.OrderBy(_ => _random.Next()).Take(2 + _random.Next(2)).Select(f => (JsonNode)f()).ToArray());
        return new JsonObject { ["oneOf"] = oneOf };
    }

    private JsonObject AllOf()
    {
        return _random.Next(3) switch
        {
            0 => new JsonObject { ["allOf"] = new JsonArray(new JsonObject { ["type"] = "integer", ["minimum"] = _random.Next(-50, 0) }, new JsonObject { ["maximum"] = _random.Next(0, 50) }) },
            1 => new JsonObject { ["allOf"] = new JsonArray(new JsonObject { ["type"] = "string", ["minLength"] = 1 }, new JsonObject { ["maxLength"] = 6 }, new JsonObject { ["pattern"] = "^[a-z]+$" }) },
            _ => new JsonObject
            {
                ["allOf"] = new JsonArray(
                    new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["a"] = new JsonObject { ["type"] = "integer" } }, ["required"] = new JsonArray("a") },
                    new JsonObject { ["properties"] = new JsonObject { ["b"] = new JsonObject { ["type"] = "boolean" } }, ["required"] = new JsonArray("b") }),
            },
        };
    }

    private JsonObject Ref(int depth, JsonObject defs)
    {
        string name = $"d{defs.Count}";
        defs[name] = new JsonObject(); // reserve the name: nested references take the next ones
        defs[name] = Schema(depth + 1, defs);
        return new JsonObject { ["$ref"] = $"#/$defs/{name}" };
    }

    private JsonObject Recursive(JsonObject defs)
    {
        string name = $"tree{defs.Count}";
        defs[name] = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["v"] = IntegerSchema(),
                ["kids"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["$ref"] = $"#/$defs/{name}" }, ["maxItems"] = 2 },
            },
            ["required"] = new JsonArray("v"),
            ["additionalProperties"] = false,
        };
        return new JsonObject { ["$ref"] = $"#/$defs/{name}" };
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject o, Action<JsonObject> action)
    {
        action(o);
        return o;
    }
}
