using System.Globalization;
using System.Numerics;
using System.Text.Json;

namespace KimiSharp.Grammar.Json;

/// <summary>
/// JSON Schema → grammar rules producing compact JSON (no whitespace but one optional space after ':' and ',') that the schema accepts: types, enum,
/// const, anyOf/oneOf (as alternatives), allOf (merged, best effort), $ref/$defs/definitions (recursion
/// included), properties in schema order with required/additionalProperties, items/prefixItems/min/maxItems,
/// string min/maxLength/pattern/format, number and integer bounds (digit-exact for integers), nullable unions.
/// Sub-schemas are inlined into their parent's automaton; $ref targets become rules.
/// </summary>
public sealed partial class JsonSchemaCompiler
{
    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "title", "description", "default", "examples", "example", "$schema", "$id", "id", "$comment", "deprecated", "readOnly",
        "writeOnly", "$anchor", "contentEncoding", "contentMediaType", "strict", "discriminator", "xml", "externalDocs", "$defs", "definitions",
    };

    private static readonly HashSet<string> Unsupported = new(StringComparer.Ordinal)
    {
        "not", "if", "then", "else", "patternProperties", "propertyNames", "minProperties", "maxProperties", "dependentRequired",
        "dependentSchemas", "dependencies", "multipleOf", "contains", "minContains", "maxContains", "unevaluatedProperties",
        "unevaluatedItems", "$dynamicRef", "$recursiveRef", "$dynamicAnchor", "$recursiveAnchor",
    };

    private readonly GrammarDefinition _def;
    private readonly JsonSchemaOptions _options;
    private readonly Dictionary<string, int> _refRules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GrammarExpr> _shared = new(StringComparer.Ordinal);
    private JsonElement _root;
    private int _anyRule = -1;

    /// <summary>
    /// Separators: compact, or with the one space Python's json.dumps (and so much of a model's training data)
    /// writes after ':' and ','. Never a newline or indentation, so a random model cannot wander in whitespace.
    /// </summary>
    private static readonly GrammarExpr Colon = GrammarExpr.Seq(GrammarExpr.Literal(":"), GrammarExpr.Optional(GrammarExpr.Literal(" ")));
    private static readonly GrammarExpr Comma = GrammarExpr.Seq(GrammarExpr.Literal(","), GrammarExpr.Optional(GrammarExpr.Literal(" ")));

    /// <summary>A compiler that adds its rules to <paramref name="definition"/>.</summary>
    public JsonSchemaCompiler(GrammarDefinition definition, JsonSchemaOptions? options = null)
    {
        _def = definition ?? throw new ArgumentNullException(nameof(definition));
        _options = options ?? new JsonSchemaOptions();
    }

    /// <summary>A grammar whose sentences are exactly the compact JSON texts the schema accepts (with the limits above).</summary>
    public static CompiledGrammar Compile(JsonElement schema, JsonSchemaOptions? options = null)
    {
        var def = new GrammarDefinition();
        var compiler = new JsonSchemaCompiler(def, options);
        def.Root = def.AddRule("root", compiler.ValueExpr(schema));
        return GrammarCompiler.Compile(def);
    }

    public static CompiledGrammar Compile(string schemaJson, JsonSchemaOptions? options = null)
    {
        using var doc = ParseSchema(schemaJson);
        return Compile(doc.RootElement, options);
    }

    /// <summary>Parses schema text; bad JSON is a <see cref="GrammarException"/>.</summary>
    public static JsonDocument ParseSchema(string schemaJson)
    {
        try
        {
            return JsonDocument.Parse(schemaJson);
        }
        catch (JsonException e)
        {
            throw new GrammarException($"the schema is not valid JSON: {e.Message}");
        }
    }

    /// <summary>
    /// The expression for one JSON value valid against <paramref name="schema"/>, whose document is the root for
    /// <c>$ref</c> resolution. Rules it needs are added to the definition.
    /// </summary>
    public GrammarExpr ValueExpr(JsonElement schema)
    {
        _root = schema;
        return Schema(schema, "#");
    }

    private GrammarExpr Schema(JsonElement schema, string path)
    {
        switch (schema.ValueKind)
        {
            case JsonValueKind.True:
                return AnyValue();
            case JsonValueKind.False:
                return GrammarExpr.Nothing;
            case JsonValueKind.Object:
                break;
            default:
                throw new GrammarException($"{path}: a schema must be an object or a boolean, not {schema.ValueKind}");
        }

        CheckKeywords(schema, path);
        if (schema.TryGetProperty("$ref", out var reference))
            return RefExpr(reference, path);
        if (schema.TryGetProperty("allOf", out var allOf))
            return Schema(JsonSchemaMerge.AllOf(schema, allOf, this, path), path);
        if (FirstOf(schema, "anyOf", "oneOf") is { } union)
            return UnionExpr(schema, union, path);

        var alternatives = new List<GrammarExpr>();
        bool nullable = schema.TryGetProperty("nullable", out var n) && n.ValueKind == JsonValueKind.True;
        if (schema.TryGetProperty("const", out var constant))
            return Literal(constant);
        if (schema.TryGetProperty("enum", out var values))
        {
            if (values.ValueKind != JsonValueKind.Array) throw new GrammarException($"{path}/enum: must be an array");
            var types = Types(schema, path, inferred: false);
            foreach (var v in values.EnumerateArray())
                if (types is null || types.Contains(TypeOf(v)) || (types.Contains("number") && TypeOf(v) == "integer"))
                    alternatives.Add(Literal(v));
            if (nullable) alternatives.Add(GrammarExpr.Literal("null"));
            return GrammarExpr.Alt(alternatives);
        }

        var typeList = Types(schema, path, inferred: true);
        if (typeList is null) return AnyValue();
        foreach (string type in typeList) alternatives.Add(TypedExpr(schema, type, path));
        if (nullable && !typeList.Contains("null")) alternatives.Add(GrammarExpr.Literal("null"));
        return GrammarExpr.Alt(alternatives);
    }

    private GrammarExpr TypedExpr(JsonElement schema, string type, string path) => type switch
    {
        "null" => GrammarExpr.Literal("null"),
        "boolean" => GrammarExpr.Alt(GrammarExpr.Literal("true"), GrammarExpr.Literal("false")),
        "integer" => IntegerExpr(schema, path),
        "number" => NumberExpr(schema, path),
        "string" => StringExpr(schema, path),
        "object" => ObjectExpr(schema, path),
        "array" => ArrayExpr(schema, path),
        _ => throw new GrammarException($"{path}/type: '{type}' is not a JSON Schema type"),
    };

    private static JsonElement? FirstOf(JsonElement schema, params string[] names)
    {
        foreach (var name in names)
            if (schema.TryGetProperty(name, out var v)) return v;
        return null;
    }

    /// <summary>The schema's types; inferred from its keywords when "type" is absent (null = anything).</summary>
    private static List<string>? Types(JsonElement schema, string path, bool inferred)
    {
        if (schema.TryGetProperty("type", out var type))
        {
            if (type.ValueKind == JsonValueKind.String) return [type.GetString()!];
            if (type.ValueKind == JsonValueKind.Array)
                return type.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String ? t.GetString()! : throw new GrammarException($"{path}/type: entries must be strings")).Distinct().ToList();
            throw new GrammarException($"{path}/type: must be a string or an array of strings");
        }
        if (!inferred) return null;
        if (Has(schema, "properties", "required", "additionalProperties")) return ["object"];
        if (Has(schema, "items", "prefixItems", "minItems", "maxItems", "additionalItems")) return ["array"];
        if (Has(schema, "minLength", "maxLength", "pattern", "format")) return ["string"];
        if (Has(schema, "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")) return ["number"];
        return null;
    }

    private static bool Has(JsonElement schema, params string[] names) => names.Any(n => schema.TryGetProperty(n, out _));

    private static string TypeOf(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Number => v.TryGetInt64(out _) || (v.TryGetDecimal(out var d) && d == decimal.Truncate(d)) ? "integer" : "number",
        JsonValueKind.String => "string",
        JsonValueKind.Array => "array",
        _ => "object",
    };

    private static GrammarExpr Literal(JsonElement value) => GrammarExpr.Literal(JsonStrings.Compact(value));

    /// <summary>Unsupported keywords: fail in strict mode, else log and ignore (loosening that sub-schema).</summary>
    private void CheckKeywords(JsonElement schema, string path)
    {
        foreach (var property in schema.EnumerateObject())
        {
            string name = property.Name;
            bool unsupported = Unsupported.Contains(name)
                || (name == "uniqueItems" && property.Value.ValueKind == JsonValueKind.True)
                || (name == "$ref" && property.Value.ValueKind == JsonValueKind.String && !property.Value.GetString()!.StartsWith('#'));
            if (unsupported) Loosen(name, path);
        }
    }

    internal void Loosen(string keyword, string path)
    {
        if (_options.Strict) throw new UnsupportedSchemaException(keyword, path);
        _options.Loosened?.Invoke($"{path}: JSON schema keyword '{keyword}' is not supported by constrained decoding; ignored");
    }

    private GrammarExpr UnionExpr(JsonElement schema, JsonElement union, string path)
    {
        if (union.ValueKind != JsonValueKind.Array || union.GetArrayLength() == 0)
            throw new GrammarException($"{path}: anyOf/oneOf must be a non-empty array");
        string keyword = schema.TryGetProperty("anyOf", out _) ? "anyOf" : "oneOf";
        bool hasSiblings = schema.EnumerateObject().Any(p => p.Name != keyword && !Annotations.Contains(p.Name));
        var alternatives = new List<GrammarExpr>();
        int i = 0;
        foreach (var option in union.EnumerateArray())
        {
            string optionPath = $"{path}/{keyword}/{i++}";
            // Keywords beside the union apply to every alternative: merge them in.
            alternatives.Add(hasSiblings
                ? Schema(JsonSchemaMerge.Merge([JsonSchemaMerge.Without(schema, keyword), option], this, optionPath), optionPath)
                : Schema(option, optionPath));
        }
        return GrammarExpr.Alt(alternatives);
    }

    private GrammarExpr RefExpr(JsonElement reference, string path)
    {
        if (reference.ValueKind != JsonValueKind.String) throw new GrammarException($"{path}/$ref: must be a string");
        string pointer = reference.GetString()!;
        if (!pointer.StartsWith('#')) return AnyValue(); // remote reference, loosened by CheckKeywords
        if (_refRules.TryGetValue(pointer, out int rule)) return GrammarExpr.Rule(rule);
        var target = Resolve(pointer, path);
        rule = _def.AddRule("ref" + pointer.Replace('/', '-').Replace('~', '-'));
        _refRules[pointer] = rule; // before the body: recursion refers back to the rule
        _def.SetBody(rule, Schema(target, pointer));
        return GrammarExpr.Rule(rule);
    }

    /// <summary>Resolves a local JSON pointer (#, #/$defs/x, #/definitions/x, any path) against the root schema.</summary>
    internal JsonElement Resolve(string pointer, string path)
    {
        var current = _root;
        if (pointer is "#" or "#/") return current;
        if (!pointer.StartsWith("#/", StringComparison.Ordinal))
            throw new GrammarException($"{path}/$ref: '{pointer}' is not a local JSON pointer");
        foreach (string raw in pointer[2..].Split('/'))
        {
            string part = Uri.UnescapeDataString(raw).Replace("~1", "/").Replace("~0", "~");
            if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(part, out var next)) current = next;
            else if (current.ValueKind == JsonValueKind.Array && int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int index) && index < current.GetArrayLength()) current = current[index];
            else throw new GrammarException($"{path}/$ref: '{pointer}' does not resolve");
        }
        return current;
    }

    /// <summary>Any JSON value, nested at most <see cref="JsonSchemaOptions.MaxAnyValueDepth"/> deep (shared rules).</summary>
    private GrammarExpr AnyValue()
    {
        if (_anyRule >= 0) return GrammarExpr.Rule(_anyRule);
        var scalar = GrammarExpr.Alt(
            JsonStrings.Quoted(JsonStrings.AnyBody),
            JsonNumbers.Decimal(null, false, null, false, _options.MaxIntegerDigits, _options.MaxFractionDigits),
            GrammarExpr.Literal("true"), GrammarExpr.Literal("false"), GrammarExpr.Literal("null"));
        GrammarExpr level = scalar;
        for (int depth = 1; depth <= _options.MaxAnyValueDepth; depth++)
        {
            int rule = _def.AddRule($"any-value-{depth}");
            var inner = level;
            var member = GrammarExpr.Seq(JsonStrings.Quoted(JsonStrings.AnyBody), Colon, inner);
            _def.SetBody(rule, GrammarExpr.Alt(
                scalar,
                GrammarExpr.Seq(GrammarExpr.Literal("{"), GrammarExpr.Optional(GrammarExpr.Seq(member, GrammarExpr.Star(GrammarExpr.Seq(Comma, member)))), GrammarExpr.Literal("}")),
                GrammarExpr.Seq(GrammarExpr.Literal("["), GrammarExpr.Optional(GrammarExpr.Seq(inner, GrammarExpr.Star(GrammarExpr.Seq(Comma, inner)))), GrammarExpr.Literal("]"))));
            level = GrammarExpr.Rule(rule);
            _anyRule = rule;
        }
        if (_anyRule < 0) _anyRule = _def.AddRule("any-value", scalar);
        return GrammarExpr.Rule(_anyRule);
    }

    private GrammarExpr IntegerExpr(JsonElement schema, string path)
    {
        var (min, minEx, max, maxEx) = Bounds(schema, path);
        BigInteger? lo = min is { } a ? (BigInteger)(minEx ? decimal.Floor(a) + 1 : decimal.Ceiling(a)) : null;
        BigInteger? hi = max is { } b ? (BigInteger)(maxEx ? decimal.Ceiling(b) - 1 : decimal.Floor(b)) : null;
        return JsonNumbers.Integer(lo, hi, _options.MaxIntegerDigits);
    }

    private GrammarExpr NumberExpr(JsonElement schema, string path)
    {
        var (min, minEx, max, maxEx) = Bounds(schema, path);
        return JsonNumbers.Decimal(min, minEx, max, maxEx, _options.MaxIntegerDigits, _options.MaxFractionDigits);
    }

    /// <summary>minimum/maximum/exclusiveMinimum/exclusiveMaximum (numeric, or draft-4 booleans); the tighter wins.</summary>
    private (decimal? Min, bool MinExclusive, decimal? Max, bool MaxExclusive) Bounds(JsonElement schema, string path)
    {
        decimal? min = Number(schema, "minimum", path), max = Number(schema, "maximum", path);
        bool minEx = false, maxEx = false;
        if (schema.TryGetProperty("exclusiveMinimum", out var exMin))
        {
            if (exMin.ValueKind == JsonValueKind.True) minEx = min is not null;
            else if (Number(schema, "exclusiveMinimum", path) is { } v && (min is null || v >= min)) { min = v; minEx = true; }
        }
        if (schema.TryGetProperty("exclusiveMaximum", out var exMax))
        {
            if (exMax.ValueKind == JsonValueKind.True) maxEx = max is not null;
            else if (Number(schema, "exclusiveMaximum", path) is { } v && (max is null || v <= max)) { max = v; maxEx = true; }
        }
        return (min, minEx, max, maxEx);
    }

    private decimal? Number(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out var v) || v.ValueKind is JsonValueKind.True or JsonValueKind.False) return null;
        if (v.ValueKind != JsonValueKind.Number) throw new GrammarException($"{path}/{keyword}: must be a number");
        if (v.TryGetDecimal(out decimal d) && Math.Abs(d) < 1e20m) return d;
        Loosen($"{keyword} (beyond ±1e20)", path);
        return null;
    }

    private static int? Count(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDecimal(out decimal d) || d < 0 || d != decimal.Truncate(d))
            throw new GrammarException($"{path}/{keyword}: must be a non-negative integer");
        return d > 100_000 ? 100_000 : (int)d;
    }
}
