using System.Globalization;
using System.Text;

namespace KimiSharp.Chat.Jinja;

/// <summary>Python's <c>json.dumps(x, ensure_ascii, indent, separators, sort_keys)</c>, which is what Hugging
/// Face's <c>tojson</c> filter calls (default ensure_ascii=False).</summary>
internal static class JinjaJson
{
    public static string Dumps(object? value, bool ensureAscii, string? indent, string itemSeparator, string keySeparator, bool sortKeys)
    {
        var sb = new StringBuilder();
        Write(sb, value, ensureAscii, indent, itemSeparator, keySeparator, sortKeys, 0);
        return sb.ToString();
    }

    private static void NewLine(StringBuilder sb, string? indent, int level)
    {
        if (indent is null) return;
        sb.Append('\n');
        for (int i = 0; i < level; i++) sb.Append(indent);
    }

    private static void Write(StringBuilder sb, object? v, bool ascii, string? indent, string itemSep, string keySep, bool sort, int level)
    {
        if (level > 512) throw new InvalidOperationException("maximum recursion depth exceeded while encoding a JSON object");
        switch (v)
        {
            case null: sb.Append("null"); return;
            case bool b: sb.Append(b ? "true" : "false"); return;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
            case double d: sb.Append(FloatJson(d)); return;
            case string s: WriteString(sb, s, ascii); return;
            case JinjaDict dict:
                {
                    if (dict.Count == 0) { sb.Append("{}"); return; }
                    var entries = dict.Select(kv => (Key: KeyString(kv.Key), kv.Value)).ToList();
                    if (sort)
                    {
                        var keys = dict.Keys.ToList();
                        var order = Enumerable.Range(0, keys.Count).ToList();
                        order.Sort((x, y) =>
                        {
                            int c = PyValues.PyCompare(keys[x], keys[y], "<");
                            return c != 0 ? c : x.CompareTo(y);
                        });
                        entries = order.Select(i => entries[i]).ToList();
                    }
                    sb.Append('{');
                    for (int i = 0; i < entries.Count; i++)
                    {
                        if (i > 0) sb.Append(itemSep);
                        NewLine(sb, indent, level + 1);
                        WriteString(sb, entries[i].Key, ascii);
                        sb.Append(keySep);
                        Write(sb, entries[i].Value, ascii, indent, itemSep, keySep, sort, level + 1);
                    }
                    NewLine(sb, indent, level);
                    sb.Append('}');
                    return;
                }
            case List<object?> or JinjaTuple or JinjaRange:
                {
                    var list = (IReadOnlyList<object?>)v;
                    if (list.Count == 0) { sb.Append("[]"); return; }
                    sb.Append('[');
                    for (int i = 0; i < list.Count; i++)
                    {
                        if (i > 0) sb.Append(itemSep);
                        NewLine(sb, indent, level + 1);
                        Write(sb, list[i], ascii, indent, itemSep, keySep, sort, level + 1);
                    }
                    NewLine(sb, indent, level);
                    sb.Append(']');
                    return;
                }
            default:
                throw new InvalidOperationException($"Object of type {PyValues.TypeName(v)} is not JSON serializable");
        }
    }

    private static string KeyString(object key) => key switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatJson(d),
        _ => throw new InvalidOperationException($"keys must be str, int, float, bool or None, not {PyValues.TypeName(key)}"),
    };

    private static string FloatJson(double d) =>
        double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyValues.FloatRepr(d);

    private static void WriteString(StringBuilder sb, string s, bool ascii)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ascii && c > 0x7e))
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        sb.Append('"');
    }
}
