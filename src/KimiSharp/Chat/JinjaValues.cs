using System.Text.Json;

namespace KimiSharp.Chat;

/// <summary>Builds template context values.</summary>
public static class JinjaValues
{
    /// <summary>JSON → context value as Python's json.loads would produce it: null, bool, long (integers),
    /// double (numbers with a fraction or exponent), string, List&lt;object?&gt;, and insertion-ordered
    /// Dictionary&lt;string, object?&gt;.</summary>
    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Aggregate(new Dictionary<string, object?>(StringComparer.Ordinal), (d, p) =>
        {
            d[p.Name] = FromJson(p.Value);
            return d;
        }),
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToList(),
        _ => Jinja.PyValues.FromJson(element),
    };
}
