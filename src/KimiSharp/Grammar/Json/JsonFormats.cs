namespace KimiSharp.Grammar.Json;

/// <summary>
/// String formats as exact regular expressions (RFC 3339 date/time with real month lengths and leap years,
/// RFC 4122 uuid, a conservative email and http(s) uri, dotted-quad ipv4). Lengths are bounded so a random
/// model cannot wander; every string they allow is valid under the format.
/// </summary>
internal static class JsonFormats
{
    private const string Year = "[0-9]{4}";
    private const string LeapYear = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)";
    private const string MonthDay = "((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))";
    private const string Date = "(" + Year + "-" + MonthDay + "|" + LeapYear + "-02-29)";
    private const string Time = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";
    private const string Label = "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?";
    private const string Octet = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";

    private static readonly Dictionary<string, string> Patterns = new(StringComparer.Ordinal)
    {
        ["date"] = Date,
        ["time"] = Time,
        ["date-time"] = Date + "T" + Time,
        ["uuid"] = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ["email"] = "[A-Za-z0-9_+-]{1,20}(\\.[A-Za-z0-9_+-]{1,20}){0,2}@" + Label + "(\\." + Label + "){0,2}\\.[a-z]{2,6}",
        ["uri"] = "https?://" + Label + "(\\." + Label + "){0,3}(:[1-9][0-9]{0,3})?(/([A-Za-z0-9._~-]|%[0-9A-F]{2}){0,20}){0,6}(\\?[A-Za-z0-9._~=&-]{0,40})?",
        ["ipv4"] = Octet + "(\\." + Octet + "){3}",
    };

    public static IReadOnlyCollection<string> Supported => Patterns.Keys;

    /// <summary>The string body (without quotes) for a format, or null when the format is unknown.</summary>
    public static GrammarExpr? Body(string format) =>
        Patterns.TryGetValue(format, out var pattern) ? RegexParser.ParseExact(pattern, JsonStrings.Char) : null;
}
