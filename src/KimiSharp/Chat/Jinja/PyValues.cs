using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace KimiSharp.Chat.Jinja;

/// <summary>Python semantics for template values: truthiness, str(), repr(), ==, ordering, and conversion of
/// caller data (CLR values, JSON) into the runtime representation.</summary>
internal static class PyValues
{
    public static bool IsTruthy(object? v) => v switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        JinjaUndefined => false,
        JinjaDict d => d.Count > 0,
        ICollection c => c.Count > 0,
        IReadOnlyCollection<object?> c => c.Count > 0,
        _ => true,
    };

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        JinjaDict => "dict",
        List<object?> => "list",
        JinjaTuple => "tuple",
        JinjaRange => "range",
        JinjaNamespace => "Namespace",
        JinjaUndefined => "Undefined",
        LoopContext => "LoopContext",
        JinjaMacro => "Macro",
        BoundMethod => "builtin_function_or_method",
        BuiltinFunction => "function",
        JinjaGenerator => "generator",
        _ => v.GetType().Name,
    };

    public static string ObjectDescription(object? v) => v is null ? "None" : $"'{TypeName(v)} object'";

    /// <summary>Python str(v).</summary>
    public static string ToStr(object? v) => v switch
    {
        null => "None",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        JinjaUndefined => "",
        _ => Repr(v),
    };

    /// <summary>Python repr(v).</summary>
    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v, 0);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? v, int depth)
    {
        if (depth > 200) throw new InvalidOperationException("maximum recursion depth exceeded while getting the repr of an object");
        switch (v)
        {
            case string s:
                AppendStringRepr(sb, s);
                break;
            case JinjaDict d:
                {
                    sb.Append('{');
                    bool first = true;
                    foreach (var kv in d)
                    {
                        if (!first) sb.Append(", ");
                        first = false;
                        AppendRepr(sb, kv.Key, depth + 1);
                        sb.Append(": ");
                        AppendRepr(sb, kv.Value, depth + 1);
                    }
                    sb.Append('}');
                    break;
                }
            case List<object?> list:
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, list[i], depth + 1);
                }
                sb.Append(']');
                break;
            case JinjaTuple t:
                sb.Append('(');
                for (int i = 0; i < t.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, t[i], depth + 1);
                }
                if (t.Count == 1) sb.Append(',');
                sb.Append(')');
                break;
            case JinjaRange r:
                sb.Append("range(").Append(r.Start).Append(", ").Append(r.Stop);
                if (r.Step != 1) sb.Append(", ").Append(r.Step);
                sb.Append(')');
                break;
            case JinjaNamespace ns:
                sb.Append("<Namespace {");
                bool f = true;
                foreach (var kv in ns.Attributes)
                {
                    if (!f) sb.Append(", ");
                    f = false;
                    AppendStringRepr(sb, kv.Key);
                    sb.Append(": ");
                    AppendRepr(sb, kv.Value, depth + 1);
                }
                sb.Append("}>");
                break;
            case JinjaMacro m:
                sb.Append("<Macro '").Append(m.Name).Append("'>");
                break;
            case JinjaUndefined:
                sb.Append("Undefined");
                break;
            case JinjaGenerator:
                sb.Append("<generator object>");
                break;
            case IJinjaCallable:
                sb.Append("<built-in function>");
                break;
            default:
                sb.Append(ToStr(v));
                break;
        }
    }

    private static void AppendStringRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == quote || c == '\\') { sb.Append('\\').Append(c); continue; }
            if (c == '\n') { sb.Append("\\n"); continue; }
            if (c == '\r') { sb.Append("\\r"); continue; }
            if (c == '\t') { sb.Append("\\t"); continue; }
            int cp = c;
            int width = 1;
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                cp = char.ConvertToUtf32(c, s[i + 1]);
                width = 2;
            }
            if (IsPrintable(cp))
            {
                sb.Append(s, i, width);
            }
            else if (cp < 0x100) sb.Append("\\x").Append(cp.ToString("x2", CultureInfo.InvariantCulture));
            else if (cp < 0x10000) sb.Append("\\u").Append(cp.ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append("\\U").Append(cp.ToString("x8", CultureInfo.InvariantCulture));
            i += width - 1;
        }
        sb.Append(quote);
    }

    /// <summary>Python str.isprintable for one code point: not Other (Cc/Cf/Cs/Co/Cn) and not a separator other than ' '.</summary>
    private static bool IsPrintable(int cp)
    {
        if (cp == ' ') return true;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.SpaceSeparator
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator);
    }

    /// <summary>Python repr(float): shortest round-trip digits; exponent form when the decimal point
    /// position is ≤ -4 or > 16; always shows ".0" for integral values.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int exp = 0;
        int ePos = r.IndexOfAny(['E', 'e']);
        if (ePos >= 0)
        {
            exp = int.Parse(r.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..ePos];
        }
        int dot = r.IndexOf('.');
        string digits = dot >= 0 ? r.Remove(dot, 1) : r;
        int decpt = (dot >= 0 ? dot : r.Length) + exp;
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') lead++;
        digits = digits[lead..];
        decpt -= lead;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        var sb = new StringBuilder();
        if (d < 0) sb.Append('-');
        if (decpt <= -4 || decpt > 16)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            int e = decpt - 1;
            sb.Append('e').Append(e < 0 ? '-' : '+').Append(Math.Abs(e).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (decpt <= 0)
        {
            sb.Append("0.").Append('0', -decpt).Append(digits);
        }
        else if (decpt >= digits.Length)
        {
            sb.Append(digits).Append('0', decpt - digits.Length).Append(".0");
        }
        else
        {
            sb.Append(digits, 0, decpt).Append('.').Append(digits, decpt, digits.Length - decpt);
        }
        return sb.ToString();
    }

    /// <summary>Python ==.</summary>
    public static bool PyEquals(object? a, object? b) => PyEquals(a, b, 0);

    private static bool PyEquals(object? a, object? b, int depth)
    {
        if (a is null || b is null) return a is null && b is null;
        if (ReferenceEquals(a, b) && a is not double) return true;
        if (depth > 200) throw new InvalidOperationException("maximum recursion depth exceeded in comparison");
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a) == ToDouble(b);
            return ToLong(a) == ToLong(b);
        }
        switch (a)
        {
            case string sa: return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
            case JinjaUndefined: return b is JinjaUndefined;
            case JinjaDict da:
                {
                    if (b is not JinjaDict db || da.Count != db.Count) return false;
                    foreach (var kv in da)
                    {
                        if (!db.TryGetValue(kv.Key, out var other) || !PyEquals(kv.Value, other, depth + 1)) return false;
                    }
                    return true;
                }
            case List<object?> la:
                return b is List<object?> lb && SequenceEquals(la, lb, depth);
            case JinjaTuple ta:
                return b is JinjaTuple tb && SequenceEquals(ta, tb, depth);
            case JinjaRange ra:
                return b is JinjaRange rb && SequenceEquals(ra, rb, depth);
            default:
                return ReferenceEquals(a, b);
        }
    }

    private static bool SequenceEquals(IReadOnlyList<object?> a, IReadOnlyList<object?> b, int depth)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
        {
            if (!PyEquals(a[i], b[i], depth + 1)) return false;
        }
        return true;
    }

    public static double ToDouble(object? v) => v switch
    {
        double d => d,
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new InvalidOperationException($"not a number: {TypeName(v)}"),
    };

    public static long ToLong(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        double d => (long)d,
        _ => throw new InvalidOperationException($"not an integer: {TypeName(v)}"),
    };

    /// <summary>Python ordering (&lt;): numbers with numbers, str with str (code points), lists/tuples
    /// lexicographically; anything else is a TypeError. Returns sign like CompareTo.</summary>
    public static int PyCompare(object? a, object? b, string op) => PyCompare(a, b, op, 0);

    private static int PyCompare(object? a, object? b, string op, int depth)
    {
        if (depth > 200) throw new InvalidOperationException("maximum recursion depth exceeded in comparison");
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double)
            {
                double x = ToDouble(a), y = ToDouble(b);
                if (double.IsNaN(x) || double.IsNaN(y)) return op is "<" or "<=" ? 1 : -1; // every ordering with NaN is False
                return x.CompareTo(y);
            }
            return ToLong(a).CompareTo(ToLong(b));
        }
        if (a is string sa && b is string sb) return CompareCodePoints(sa, sb);
        if ((a is List<object?> && b is List<object?>) || (a is JinjaTuple && b is JinjaTuple))
        {
            var la = (IReadOnlyList<object?>)a;
            var lb = (IReadOnlyList<object?>)b!;
            for (int i = 0; i < Math.Min(la.Count, lb.Count); i++)
            {
                if (PyEquals(la[i], lb[i])) continue;
                return PyCompare(la[i], lb[i], op, depth + 1);
            }
            return la.Count.CompareTo(lb.Count);
        }
        throw new InvalidOperationException($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    public static int CompareCodePoints(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            int ca = CodePointAt(a, i, out int wa);
            int cb = CodePointAt(b, j, out int wb);
            if (ca != cb) return ca < cb ? -1 : 1;
            i += wa;
            j += wb;
        }
        return (a.Length - i).CompareTo(b.Length - j) switch { < 0 => -1, > 0 => 1, _ => 0 };
    }

    internal static int CodePointAt(string s, int i, out int width)
    {
        if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            width = 2;
            return char.ConvertToUtf32(s[i], s[i + 1]);
        }
        width = 1;
        return s[i];
    }

    /// <summary>Converts caller data (CLR primitives, dictionaries, lists, JsonElement) to runtime values,
    /// copying containers so templates never mutate the caller's objects.</summary>
    public static object? FromClr(object? v, int depth = 0)
    {
        if (depth > 256) throw new ArgumentException("context nesting is too deep");
        switch (v)
        {
            case null: return null;
            case string s: return s;
            case bool b: return b;
            case long l: return l;
            case int i: return (long)i;
            case short sh: return (long)sh;
            case byte by: return (long)by;
            case sbyte sb: return (long)sb;
            case ushort us: return (long)us;
            case uint ui: return (long)ui;
            case ulong ul when ul <= long.MaxValue: return (long)ul;
            case double d: return d;
            case float f: return (double)f;
            case decimal m: return (double)m;
            case char c: return c.ToString();
            case JsonElement e: return FromJson(e);
            case JinjaUndefined or JinjaNamespace: return v;
            case IReadOnlyDictionary<string, object?> rd:
                {
                    var d = new JinjaDict();
                    foreach (var kv in rd) d[kv.Key] = FromClr(kv.Value, depth + 1);
                    return d;
                }
            case IDictionary dict:
                {
                    var d = new JinjaDict();
                    foreach (DictionaryEntry kv in dict) d[FromClr(kv.Key, depth + 1) ?? "None"] = FromClr(kv.Value, depth + 1);
                    return d;
                }
            case IEnumerable e:
                {
                    var list = new List<object?>();
                    foreach (var item in e) list.Add(FromClr(item, depth + 1));
                    return list;
                }
            default:
                throw new ArgumentException($"unsupported template context value of type {v.GetType().Name}");
        }
    }

    /// <summary>JSON → runtime value the way Python's json.loads does it (integers stay integers, numbers with a
    /// fraction or exponent become floats, objects keep key order).</summary>
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => ParseJsonNumber(e.GetRawText()),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => ObjectFromJson(e),
        _ => throw new ArgumentException($"unsupported JSON value {e.ValueKind}"),
    };

    private static object ParseJsonNumber(string raw)
    {
        if (raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0 && long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return l;
        return double.Parse(raw, CultureInfo.InvariantCulture);
    }

    private static JinjaDict ObjectFromJson(JsonElement e)
    {
        var d = new JinjaDict();
        foreach (var p in e.EnumerateObject()) d[p.Name] = FromJson(p.Value);
        return d;
    }
}
