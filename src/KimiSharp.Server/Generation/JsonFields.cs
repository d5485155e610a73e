using System.Text.Json;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.Generation;

/// <summary>Reading union-typed JSON fields with errors that name the field.</summary>
public static class JsonFields
{
    public static string String(JsonElement element, string param)
    {
        if (element.ValueKind != JsonValueKind.String)
            throw ApiException.Invalid(param, $"must be a string, not {Describe(element)}");
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw ApiException.Invalid(param, "is not valid Unicode");
        }
    }

    /// <summary>Compact JSON text of an object (tool arguments or schemas given as objects).</summary>
    public static string RawObject(JsonElement element, string param)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw ApiException.Invalid(param, $"must be an object, not {Describe(element)}");
        return element.GetRawText();
    }

    /// <summary>null, a string, or an array of strings (OpenAI's <c>stop</c>).</summary>
    public static IReadOnlyList<string> StringOrStrings(JsonElement? element, string param, int maxCount)
    {
        if (element is not { } value || value.ValueKind == JsonValueKind.Null)
            return [];
        if (value.ValueKind == JsonValueKind.String)
            return NonEmpty([String(value, param)], param);
        if (value.ValueKind != JsonValueKind.Array)
            throw ApiException.Invalid(param, $"must be a string or an array of strings, not {Describe(value)}");
        var list = new List<string>();
        int i = 0;
        foreach (var item in value.EnumerateArray())
            list.Add(String(item, $"{param}[{i++}]"));
        if (list.Count > maxCount)
            throw ApiException.Invalid(param, $"has {list.Count} entries; at most {maxCount} are allowed");
        return NonEmpty(list, param);
    }

    private static IReadOnlyList<string> NonEmpty(List<string> list, string param)
    {
        if (list.Any(s => s.Length == 0))
            throw ApiException.Invalid(param, "stop strings must not be empty");
        return list;
    }

    public static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    public static double InRange(double? value, string param, double min, double max, double fallback)
    {
        if (value is not double v)
            return fallback;
        if (!double.IsFinite(v) || v < min || v > max)
            throw ApiException.Invalid(param, $"must be between {min} and {max}, got {v}");
        return v;
    }
}
