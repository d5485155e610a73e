using System.Text.Json;

namespace KimiSharp.Grammar.Json;

// Strings, objects and arrays.
public sealed partial class JsonSchemaCompiler
{
    /// <summary>Above this maxLength / count the bound is not built into the automaton (logged).</summary>
    private const int MaxBuiltCount = 4096;

    private ByteAutomaton? _anyBody;

    private GrammarExpr StringExpr(JsonElement schema, string path)
    {
        int min = Count(schema, "minLength", path) ?? 0;
        int? max = Count(schema, "maxLength", path);
        if (max is { } m && m < min) return GrammarExpr.Nothing;
        if (max > MaxBuiltCount)
        {
            _options.Loosened?.Invoke($"{path}: maxLength {max} is above {MaxBuiltCount}; not enforced");
            max = null;
        }
        min = Math.Min(min, MaxBuiltCount);

        GrammarExpr? constrained = null;
        foreach (string pattern in Patterns(schema, path))
        {
            GrammarExpr expr;
            try
            {
                expr = RegexParser.ParseSearch(pattern, JsonStrings.Char);
            }
            catch (GrammarException e)
            {
                if (_options.Strict) throw new UnsupportedSchemaException($"pattern ({e.Message})", path);
                _options.Loosened?.Invoke($"{path}: pattern ignored: {e.Message}");
                continue;
            }
            constrained = constrained is null ? expr : Intersect(constrained, expr);
        }
        if (schema.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.String)
        {
            if (JsonFormats.Body(format.GetString()!) is { } body) constrained = constrained is null ? body : Intersect(constrained, body);
            else _options.Loosened?.Invoke($"{path}: format '{format.GetString()}' is not enforced (supported: {string.Join(", ", JsonFormats.Supported)})");
        }
        if (min > 0 || max is not null)
        {
            var length = GrammarExpr.Repeat(JsonStrings.AnyChar, min, max ?? -1);
            return JsonStrings.Quoted(constrained is null ? length : Intersect(constrained, length));
        }
        return JsonStrings.Quoted(constrained ?? JsonStrings.AnyBody);
    }

    /// <summary>"pattern", plus the patterns allOf merging collected.</summary>
    private static IEnumerable<string> Patterns(JsonElement schema, string path)
    {
        if (schema.TryGetProperty("pattern", out var p))
        {
            if (p.ValueKind != JsonValueKind.String) throw new GrammarException($"{path}/pattern: must be a string");
            yield return p.GetString()!;
        }
        if (schema.TryGetProperty(JsonSchemaMerge.ExtraPatterns, out var extra) && extra.ValueKind == JsonValueKind.Array)
            foreach (var x in extra.EnumerateArray())
                if (x.ValueKind == JsonValueKind.String) yield return x.GetString()!;
    }

    private static GrammarExpr Intersect(GrammarExpr a, GrammarExpr b) =>
        ByteAutomaton.FromExpr(a).Intersect(ByteAutomaton.FromExpr(b)).ToExpr();

    private GrammarExpr ObjectExpr(JsonElement schema, string path)
    {
        var properties = new List<(string Name, JsonElement Schema)>();
        if (schema.TryGetProperty("properties", out var props))
        {
            if (props.ValueKind != JsonValueKind.Object) throw new GrammarException($"{path}/properties: must be an object");
            foreach (var p in props.EnumerateObject()) properties.Add((p.Name, p.Value));
        }
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var req))
        {
            if (req.ValueKind != JsonValueKind.Array) throw new GrammarException($"{path}/required: must be an array");
            foreach (var r in req.EnumerateArray())
                if (r.ValueKind == JsonValueKind.String) required.Add(r.GetString()!);
        }

        // Additional properties: a schema for extra keys' values, or null when none are allowed.
        JsonElement? additional;
        if (schema.TryGetProperty("additionalProperties", out var ap))
            additional = ap.ValueKind == JsonValueKind.False ? null : ap;
        else if (schema.TryGetProperty("patternProperties", out _))
            additional = TrueSchema;
        else
            additional = !schema.TryGetProperty("properties", out _) || _options.AdditionalPropertiesByDefault ? TrueSchema : null;

        foreach (string name in required)
            if (!properties.Any(p => p.Name == name)) properties.Add((name, additional ?? TrueSchema));

        var members = properties.Select(p => GrammarExpr.Seq(
            GrammarExpr.Literal(JsonStrings.Encode(p.Name)), Colon,
            Schema(p.Schema, $"{path}/properties/{p.Name}"))).ToList();

        GrammarExpr afterSome, afterNone; // the rest, when a member was / was not written before
        if (additional is { } extraSchema)
        {
            var key = KeyExcluding(properties.Select(p => p.Name));
            var extra = GrammarExpr.Seq(JsonStrings.Quoted(key), Colon, Schema(extraSchema, $"{path}/additionalProperties"));
            var more = GrammarExpr.Star(GrammarExpr.Seq(Comma, extra));
            afterSome = more;
            afterNone = GrammarExpr.Optional(GrammarExpr.Seq(extra, more));
        }
        else
        {
            afterSome = GrammarExpr.Empty;
            afterNone = GrammarExpr.Empty;
        }
        var comma = Comma;
        for (int i = members.Count - 1; i >= 0; i--)
        {
            bool isRequired = required.Contains(properties[i].Name);
            var withSome = GrammarExpr.Seq(comma, members[i], afterSome);
            var withNone = GrammarExpr.Seq(members[i], afterSome);
            afterNone = isRequired ? withNone : GrammarExpr.Alt(withNone, afterNone);
            afterSome = isRequired ? withSome : GrammarExpr.Alt(withSome, afterSome);
        }
        return GrammarExpr.Seq(GrammarExpr.Literal("{"), afterNone, GrammarExpr.Literal("}"));
    }

    private static readonly JsonElement TrueSchema = JsonDocument.Parse("true").RootElement;

    /// <summary>A string body other than the (JSON-encoded) declared names.</summary>
    private GrammarExpr KeyExcluding(IEnumerable<string> names)
    {
        var excluded = names.Select(n => JsonStrings.Encode(n)[1..^1]).Distinct().ToList();
        if (excluded.Count == 0) return JsonStrings.AnyBody;
        _anyBody ??= ByteAutomaton.FromExpr(JsonStrings.AnyBody);
        return _anyBody.Except(ByteAutomaton.FromExpr(GrammarExpr.Alt(excluded.Select(GrammarExpr.Literal)))).ToExpr();
    }

    private GrammarExpr ArrayExpr(JsonElement schema, string path)
    {
        var prefix = new List<JsonElement>();
        JsonElement? items = TrueSchema; // schema of the items after the prefix; null = none allowed
        if (schema.TryGetProperty("prefixItems", out var prefixItems))
        {
            if (prefixItems.ValueKind != JsonValueKind.Array) throw new GrammarException($"{path}/prefixItems: must be an array");
            prefix.AddRange(prefixItems.EnumerateArray());
            if (schema.TryGetProperty("items", out var rest)) items = rest.ValueKind == JsonValueKind.False ? null : rest;
        }
        else if (schema.TryGetProperty("items", out var itemsValue))
        {
            if (itemsValue.ValueKind == JsonValueKind.Array)
            {
                // Draft 4–7 tuple form: items [...] plus additionalItems.
                prefix.AddRange(itemsValue.EnumerateArray());
                if (schema.TryGetProperty("additionalItems", out var additional)) items = additional.ValueKind == JsonValueKind.False ? null : additional;
            }
            else items = itemsValue.ValueKind == JsonValueKind.False ? null : itemsValue;
        }

        int min = Count(schema, "minItems", path) ?? 0;
        int? max = Count(schema, "maxItems", path);
        int k = prefix.Count;
        if (items is null) max = Math.Min(max ?? k, k);
        if (max is { } mx && mx < min) return GrammarExpr.Nothing;
        if (max > MaxBuiltCount)
        {
            _options.Loosened?.Invoke($"{path}: maxItems {max} is above {MaxBuiltCount}; not enforced");
            max = null;
        }
        min = Math.Min(min, MaxBuiltCount);

        var comma = Comma;
        GrammarExpr Element(int j) => Schema(prefix[j], $"{path}/prefixItems/{j}");

        // Items after the prefix: counted repetitions call one rule instead of copying the item's automaton.
        int restMin = Math.Max(0, min - k);
        int restMax = max is { } m2 ? m2 - k : -1;
        GrammarExpr? item = null;
        if (items is { } itemSchema && restMax != 0)
        {
            item = Schema(itemSchema, $"{path}/items");
            if (restMin > 1 || restMax > 1)
            {
                int rule = _def.AddRule($"items{path.Replace('/', '-')}");
                _def.SetBody(rule, item);
                item = GrammarExpr.Rule(rule);
            }
        }

        // The elements from index j on, each after a comma.
        GrammarExpr Tail(int j)
        {
            if (max is { } limit && j >= limit) return GrammarExpr.Empty;
            if (j < k)
            {
                var inner = GrammarExpr.Seq(comma, Element(j), Tail(j + 1));
                return j >= min ? GrammarExpr.Optional(inner) : inner;
            }
            if (item is null) return GrammarExpr.Empty;
            return GrammarExpr.Repeat(GrammarExpr.Seq(comma, item), Math.Max(0, min - j), max is { } l ? l - j : -1);
        }

        GrammarExpr body;
        if (max == 0) body = GrammarExpr.Empty;
        else if (k > 0) body = min > 0 ? GrammarExpr.Seq(Element(0), Tail(1)) : GrammarExpr.Optional(GrammarExpr.Seq(Element(0), Tail(1)));
        else if (item is null) body = GrammarExpr.Empty;
        else
        {
            var first = GrammarExpr.Seq(item, GrammarExpr.Repeat(GrammarExpr.Seq(comma, item), Math.Max(0, min - 1), max is { } l ? l - 1 : -1));
            body = min > 0 ? first : GrammarExpr.Optional(first);
        }
        return GrammarExpr.Seq(GrammarExpr.Literal("["), body, GrammarExpr.Literal("]"));
    }
}
