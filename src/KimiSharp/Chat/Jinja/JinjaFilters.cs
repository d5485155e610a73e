using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;

namespace KimiSharp.Chat.Jinja;

/// <summary>Jinja2's built-in filters (3.1 semantics) plus Hugging Face's tojson override.</summary>
internal static partial class JinjaFilters
{
    private sealed class FilterArgs(List<object?> args, List<(string Name, object? Value)> kwargs)
    {
        public object? Get(int index, string name, object? def)
        {
            if (index < args.Count) return args[index];
            foreach (var (n, v) in kwargs)
            {
                if (n == name) return v;
            }
            return def;
        }

        public List<object?> Positional => args;

        public List<(string Name, object? Value)> Keywords => kwargs;
    }

    /// <summary>Parameter names (after the value) of filters with a fixed signature; calls with more
    /// positional arguments or unknown keywords raise, as Python does.</summary>
    private static readonly Dictionary<string, string[]> Signatures = new(StringComparer.Ordinal)
    {
        ["abs"] = [], ["attr"] = ["name"], ["capitalize"] = [], ["center"] = ["width"], ["count"] = [], ["length"] = [],
        ["d"] = ["default_value", "boolean"], ["default"] = ["default_value", "boolean"], ["dictsort"] = ["case_sensitive", "by", "reverse"],
        ["e"] = [], ["escape"] = [], ["forceescape"] = [], ["first"] = [], ["last"] = [], ["float"] = ["default"], ["int"] = ["default", "base"],
        ["indent"] = ["width", "first", "blank"], ["items"] = [], ["join"] = ["d", "attribute"], ["list"] = [], ["lower"] = [], ["upper"] = [],
        ["max"] = ["case_sensitive", "attribute"], ["min"] = ["case_sensitive", "attribute"], ["replace"] = ["old", "new", "count"], ["reverse"] = [],
        ["round"] = ["precision", "method"], ["safe"] = [], ["sort"] = ["reverse", "case_sensitive", "attribute"], ["string"] = [],
        ["sum"] = ["attribute", "start"], ["title"] = [], ["tojson"] = ["ensure_ascii", "indent", "separators", "sort_keys"], ["trim"] = ["chars"],
        ["unique"] = ["case_sensitive", "attribute"], ["wordcount"] = [], ["batch"] = ["linecount", "fill_with"],
    };

    public static object? Apply(JinjaInterpreter interp, string name, object? value, List<object?> args, List<(string Name, object? Value)> kwargs, Node at)
    {
        if (Signatures.TryGetValue(name, out var signature))
        {
            if (args.Count > signature.Length) throw new InvalidOperationException($"{name}() takes at most {signature.Length + 1} positional arguments ({args.Count + 1} given)");
            foreach (var (kw, _) in kwargs)
            {
                int idx = Array.IndexOf(signature, kw);
                if (idx < 0) throw new InvalidOperationException($"{name}() got an unexpected keyword argument '{kw}'");
                if (idx < args.Count) throw new InvalidOperationException($"{name}() got multiple values for argument '{kw}'");
            }
        }
        var a = new FilterArgs(args, kwargs);
        switch (name)
        {
            case "abs":
                if (value is double d) return Math.Abs(d);
                if (PyValues.IsNumber(value)) return Math.Abs(PyValues.ToLong(value));
                throw new InvalidOperationException($"bad operand type for abs(): '{PyValues.TypeName(value)}'");
            case "attr":
                {
                    // Python getattr only (no item fallback): dict keys are not attributes
                    string attrName = PyValues.ToStr(a.Get(0, "name", ""));
                    return value is JinjaDict ? (attrName is "get" or "items" or "keys" or "values" or "copy" ? JinjaMethods.GetAttr(interp, value, attrName) : JinjaUndefined.Attribute(value, attrName))
                        : JinjaMethods.GetAttr(interp, value, attrName);
                }
            case "capitalize": return JinjaMethods.PyCapitalize(PyValues.ToStr(value));
            case "center":
                return JinjaMethods.Call(interp, PyValues.ToStr(value), "center", [a.Get(0, "width", 80L)], [], at);
            case "count" or "length": return Length(value);
            case "d" or "default":
                {
                    var def = a.Get(0, "default_value", "");
                    bool boolean = PyValues.IsTruthy(a.Get(1, "boolean", false));
                    return value is JinjaUndefined || (boolean && !PyValues.IsTruthy(value)) ? def : value;
                }
            case "dictsort": return DictSort(value, a);
            case "e" or "escape" or "forceescape": return Escape(PyValues.ToStr(value));
            case "first":
                {
                    var items = interp.Iterate(value, at);
                    return items.Count > 0 ? items[0] : new JinjaUndefined("No first item, sequence was empty.");
                }
            case "last":
                {
                    if (value is JinjaGenerator) throw new InvalidOperationException("'generator' object is not reversible");
                    var items = interp.Iterate(value, at);
                    return items.Count > 0 ? items[^1] : new JinjaUndefined("No last item, sequence was empty.");
                }
            case "float" or "int" when value is JinjaUndefined u:
                throw new InvalidOperationException(u.Hint); // Undefined.__float__/__int__ raise UndefinedError
            case "float": return ToFloat(value, a.Get(0, "default", 0.0));
            case "int": return ToInt(value, a.Get(0, "default", 0L), PyValues.ToLong(a.Get(1, "base", 10L)));
            case "indent": return Indent(PyValues.ToStr(value), a.Get(0, "width", 4L), PyValues.IsTruthy(a.Get(1, "first", false)), PyValues.IsTruthy(a.Get(2, "blank", false)));
            case "items":
                if (value is JinjaUndefined) return new JinjaGenerator([]);
                if (value is not JinjaDict dict) throw new InvalidOperationException("Can only get item pairs from a mapping.");
                return new JinjaGenerator(dict.Select(kv => (object?)new JinjaTuple([kv.Key, kv.Value])).ToList());
            case "join":
                {
                    var sep = PyValues.ToStr(a.Get(0, "d", ""));
                    var attribute = a.Get(1, "attribute", null);
                    var items = interp.Iterate(value, at);
                    var sb = new StringBuilder();
                    for (int i = 0; i < items.Count; i++)
                    {
                        if (i > 0) sb.Append(sep);
                        sb.Append(PyValues.ToStr(attribute is null ? items[i] : AttrGetter(interp, attribute)(items[i])));
                        interp.CheckLength(sb.Length, at);
                    }
                    return sb.ToString();
                }
            case "list": return interp.Iterate(value, at);
            case "lower": return JinjaMethods.PyLower(PyValues.ToStr(value));
            case "upper": return JinjaMethods.PyUpper(PyValues.ToStr(value));
            case "map": return Map(interp, value, a, at);
            case "max" or "min": return MinMax(interp, value, a, name == "max", at);
            case "reject" or "select": return Select(interp, value, a, name == "select", byAttribute: false, at);
            case "rejectattr" or "selectattr": return Select(interp, value, a, name == "selectattr", byAttribute: true, at);
            case "replace":
                {
                    var s = PyValues.ToStr(value);
                    var count = a.Get(2, "count", null);
                    var r = JinjaMethods.PyReplace(s, PyValues.ToStr(a.Get(0, "old", "")), PyValues.ToStr(a.Get(1, "new", "")), count is null ? -1 : PyValues.ToLong(count));
                    interp.CheckLength(r.Length, at);
                    return r;
                }
            case "reverse":
                if (value is string str)
                {
                    var cps = JinjaMethods.CodePoints(str);
                    cps.Reverse();
                    return string.Concat(cps);
                }
                {
                    var items = interp.Iterate(value, at);
                    items.Reverse();
                    return items;
                }
            case "round": return Round(value, a.Get(0, "precision", 0L), PyValues.ToStr(a.Get(1, "method", "common")));
            case "safe": return value;
            case "sort":
                {
                    bool reverse = PyValues.IsTruthy(a.Get(0, "reverse", false));
                    bool caseSensitive = PyValues.IsTruthy(a.Get(1, "case_sensitive", false));
                    var attribute = a.Get(2, "attribute", null);
                    var get = attribute is null ? (x => x) : AttrGetter(interp, attribute);
                    return StableSort(interp.Iterate(value, at), x => caseSensitive ? get(x) : IgnoreCase(get(x)), reverse);
                }
            case "string": return PyValues.ToStr(value);
            case "sum":
                {
                    var attribute = a.Get(0, "attribute", null);
                    object? total = a.Get(1, "start", 0L);
                    foreach (var item in interp.Iterate(value, at))
                    {
                        total = JinjaOperators.Binary("+", total, attribute is null ? item : AttrGetter(interp, attribute)(item));
                    }
                    return total;
                }
            case "title": return Title(PyValues.ToStr(value));
            case "tojson": return ToJson(value, a);
            case "trim": return JinjaMethods.PyStrip(PyValues.ToStr(value), a.Get(0, "chars", null) as string, true, true);
            case "unique":
                {
                    bool caseSensitive = PyValues.IsTruthy(a.Get(0, "case_sensitive", false));
                    var attribute = a.Get(1, "attribute", null);
                    var get = attribute is null ? (x => x) : AttrGetter(interp, attribute);
                    var seen = new List<object?>();
                    var result = new List<object?>();
                    foreach (var item in interp.Iterate(value, at))
                    {
                        var key = caseSensitive ? get(item) : IgnoreCase(get(item));
                        if (seen.Any(s => PyValues.PyEquals(s, key))) continue;
                        seen.Add(key);
                        result.Add(item);
                    }
                    return new JinjaGenerator(result);
                }
            case "wordcount": return (long)WordRegex().Count(PyValues.ToStr(value));
            case "batch": return Batch(interp, value, a, at);
            default:
                throw new InvalidOperationException($"No filter named '{name}'.");
        }
    }

    [GeneratedRegex(@"\w+")]
    private static partial Regex WordRegex();

    private static object Length(object? value) => value switch
    {
        string s => (long)JinjaMethods.CodePoints(s).Count,
        JinjaDict d => (long)d.Count,
        IReadOnlyCollection<object?> c => (long)c.Count,
        JinjaUndefined => 0L,
        _ => throw new InvalidOperationException($"object of type '{PyValues.TypeName(value)}' has no len()"),
    };

    private static string Escape(string s) =>
        s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&#34;").Replace("'", "&#39;");

    private static object? IgnoreCase(object? v) => v is string s ? s.ToLowerInvariant() : v;

    /// <summary>Jinja's make_attrgetter: "a.b.0" looks up each dotted part with getitem.</summary>
    private static Func<object?, object?> AttrGetter(JinjaInterpreter interp, object? attribute)
    {
        if (attribute is long or bool) return x => JinjaMethods.GetItem(interp, x, attribute);
        var parts = PyValues.ToStr(attribute).Split('.').Select(p => long.TryParse(p, out long n) ? (object)n : p).ToArray();
        return x =>
        {
            object? cur = x;
            foreach (var p in parts)
            {
                if (cur is JinjaUndefined u) throw new InvalidOperationException(u.Hint);
                cur = JinjaMethods.GetItem(interp, cur, p);
            }
            return cur;
        };
    }

    internal static List<object?> StableSort(List<object?> items, Func<object?, object?> key, bool reverse)
    {
        var keyed = items.Select((x, i) => (Key: key(x), Index: i, Item: x)).ToList();
        keyed.Sort((p, q) =>
        {
            int c = PyValues.PyEquals(p.Key, q.Key) ? 0 : PyValues.PyCompare(p.Key, q.Key, "<");
            if (reverse) c = -c;
            return c != 0 ? c : p.Index.CompareTo(q.Index);
        });
        return keyed.Select(k => k.Item).ToList();
    }

    private static object DictSort(object? value, FilterArgs a)
    {
        if (value is not JinjaDict d) throw new InvalidOperationException("You can only sort by either \"key\" or \"value\"");
        bool caseSensitive = PyValues.IsTruthy(a.Get(0, "case_sensitive", false));
        string by = PyValues.ToStr(a.Get(1, "by", "key"));
        bool reverse = PyValues.IsTruthy(a.Get(2, "reverse", false));
        int pos = by switch
        {
            "key" => 0,
            "value" => 1,
            _ => throw new InvalidOperationException("You can only sort by either \"key\" or \"value\""),
        };
        var items = d.Select(kv => (object?)new JinjaTuple([kv.Key, kv.Value])).ToList();
        return StableSort(items, x =>
        {
            var v = ((JinjaTuple)x!)[pos];
            return caseSensitive ? v : IgnoreCase(v);
        }, reverse);
    }

    private static object? ToFloat(object? value, object? def)
    {
        switch (value)
        {
            case double d: return d;
            case long or bool: return PyValues.ToDouble(value);
            case string s:
                {
                    var t = s.Trim().Replace("_", "");
                    if (t.Length > 0 && double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double r) && !t.Contains(',')) return r;
                    string low = t.ToLowerInvariant();
                    if (low is "nan" or "+nan" or "-nan") return double.NaN;
                    if (low is "inf" or "+inf" or "infinity" or "+infinity") return double.PositiveInfinity;
                    if (low is "-inf" or "-infinity") return double.NegativeInfinity;
                    return def;
                }
            default: return def;
        }
    }

    private static object? ToInt(object? value, object? def, long numberBase)
    {
        switch (value)
        {
            case long l: return l;
            case bool b: return b ? 1L : 0L;
            case double d: return double.IsFinite(d) ? TruncateToLong(d) : def;
            case string s:
                {
                    var t = s.Trim();
                    if (TryParseInt(t, numberBase, out long r)) return r;
                    if (ToFloat(s, null) is double f && double.IsFinite(f)) return TruncateToLong(f);
                    return def;
                }
            default: return def;
        }
    }

    /// <summary>Python int(float); integers are 64-bit here, so values beyond that raise instead of wrapping.</summary>
    private static long TruncateToLong(double d)
    {
        double t = Math.Truncate(d);
        if (t >= 9.2233720368547758e18 || t < -9.2233720368547758e18)
            throw new OverflowException($"integer {PyValues.FloatRepr(t)} is outside the 64-bit range supported by this engine");
        return (long)t;
    }

    private static bool TryParseInt(string t, long numberBase, out long result)
    {
        result = 0;
        if (t.Length == 0) return false;
        bool neg = false;
        int i = 0;
        if (t[0] is '+' or '-') { neg = t[0] == '-'; i = 1; }
        if (numberBase == 16 && t.Length > i + 1 && t[i] == '0' && (t[i + 1] is 'x' or 'X')) i += 2;
        else if (numberBase == 8 && t.Length > i + 1 && t[i] == '0' && (t[i + 1] is 'o' or 'O')) i += 2;
        else if (numberBase == 2 && t.Length > i + 1 && t[i] == '0' && (t[i + 1] is 'b' or 'B')) i += 2;
        if (i >= t.Length || numberBase < 2 || numberBase > 36) return false;
        long v = 0;
        bool lastUnderscore = true;
        for (; i < t.Length; i++)
        {
            char c = t[i];
            if (c == '_') { if (lastUnderscore) return false; lastUnderscore = true; continue; }
            int digit = c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'z' ? c - 'a' + 10 : c is >= 'A' and <= 'Z' ? c - 'A' + 10 : 99;
            if (digit >= numberBase) return false;
            try { v = checked(v * numberBase + digit); } catch (OverflowException) { return false; }
            lastUnderscore = false;
        }
        if (lastUnderscore) return false;
        result = neg ? -v : v;
        return true;
    }

    private static string Indent(string s, object? width, bool first, bool blank)
    {
        string indention = width is string w ? w : new string(' ', (int)Math.Clamp(PyValues.ToLong(width), 0, 4096));
        s += "\n";
        var lines = JinjaMethods.Call(null!, s, "splitlines", [], [], null!) as List<object?> ?? [];
        string rv;
        if (blank)
        {
            rv = string.Join("\n" + indention, lines.Select(l => (string)l!));
        }
        else
        {
            rv = (string)lines[0]!;
            if (lines.Count > 1)
                rv += "\n" + string.Join("\n", lines.Skip(1).Select(l => ((string)l!).Length > 0 ? indention + (string)l! : (string)l!));
        }
        return first ? indention + rv : rv;
    }

    private static object Map(JinjaInterpreter interp, object? value, FilterArgs a, Node at)
    {
        var items = interp.Iterate(value, at);
        var attribute = a.Keywords.FirstOrDefault(k => k.Name == "attribute");
        if (attribute.Name != null)
        {
            var get = AttrGetter(interp, attribute.Value);
            var defaultKw = a.Keywords.FirstOrDefault(k => k.Name == "default");
            return new JinjaGenerator(items.Select(x =>
            {
                var v = get(x);
                return defaultKw.Name != null && v is JinjaUndefined ? defaultKw.Value : v;
            }).ToList());
        }
        if (a.Positional.Count == 0) throw new InvalidOperationException("map requires a filter argument");
        string filter = PyValues.ToStr(a.Positional[0]);
        var rest = a.Positional.Skip(1).ToList();
        return new JinjaGenerator(items.Select(x => Apply(interp, filter, x, [.. rest], a.Keywords, at)).ToList());
    }

    private static object Select(JinjaInterpreter interp, object? value, FilterArgs a, bool select, bool byAttribute, Node at)
    {
        var items = interp.Iterate(value, at);
        int offset = 0;
        Func<object?, object?> get = x => x;
        if (byAttribute)
        {
            if (a.Positional.Count == 0) throw new InvalidOperationException("Missing parameter for attribute name");
            get = AttrGetter(interp, a.Positional[0]);
            offset = 1;
        }
        string? test = a.Positional.Count > offset ? PyValues.ToStr(a.Positional[offset]) : null;
        var testArgs = a.Positional.Skip(offset + 1).ToList();
        var result = new List<object?>();
        foreach (var item in items)
        {
            var v = get(item);
            bool ok = test is null ? PyValues.IsTruthy(v) : JinjaTests.Apply(interp, test, v, [.. testArgs], a.Keywords);
            if (ok == select) result.Add(item);
        }
        return new JinjaGenerator(result);
    }

    private static object? MinMax(JinjaInterpreter interp, object? value, FilterArgs a, bool max, Node at)
    {
        bool caseSensitive = PyValues.IsTruthy(a.Get(0, "case_sensitive", false));
        var attribute = a.Get(1, "attribute", null);
        var get = attribute is null ? (x => x) : AttrGetter(interp, attribute);
        var items = interp.Iterate(value, at);
        if (items.Count == 0) return new JinjaUndefined("No aggregated item, sequence was empty.");
        object? best = items[0];
        object? bestKey = caseSensitive ? get(best) : IgnoreCase(get(best));
        foreach (var item in items.Skip(1))
        {
            var key = caseSensitive ? get(item) : IgnoreCase(get(item));
            int c = PyValues.PyCompare(key, bestKey, "<");
            if (max ? c > 0 : c < 0)
            {
                best = item;
                bestKey = key;
            }
        }
        return best;
    }

    private static object Batch(JinjaInterpreter interp, object? value, FilterArgs a, Node at)
    {
        long size = PyValues.ToLong(a.Get(0, "linecount", 1L));
        if (size <= 0) throw new InvalidOperationException("batch size must be positive");
        var fill = a.Get(1, "fill_with", null);
        bool hasFill = a.Positional.Count > 1 || a.Keywords.Any(k => k.Name == "fill_with");
        var result = new List<object?>();
        List<object?> cur = [];
        foreach (var item in interp.Iterate(value, at))
        {
            if (cur.Count == size) { result.Add(cur); cur = []; }
            cur.Add(item);
        }
        if (cur.Count > 0)
        {
            if (hasFill) while (cur.Count < size) cur.Add(fill);
            result.Add(cur);
        }
        return new JinjaGenerator(result);
    }

    /// <summary>Jinja's title filter: capitalise every word split at whitespace, '-', '(', '{', '[', '&lt;'.</summary>
    private static string Title(string s)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < s.Length)
        {
            int j = i;
            bool sep = IsTitleSeparator(s[i]);
            while (j < s.Length && IsTitleSeparator(s[j]) == sep) j++;
            string item = s[i..j];
            if (sep) sb.Append(item);
            else sb.Append(char.ToUpperInvariant(item[0])).Append(item[1..].ToLowerInvariant());
            i = j;
        }
        return sb.ToString();
    }

    private static bool IsTitleSeparator(char c) => c is '-' or '(' or '{' or '[' or '<' || JinjaLexer.IsPyWhitespace(c);

    private static object? Round(object? value, object? precisionV, string method)
    {
        if (method is not ("common" or "ceil" or "floor")) throw new InvalidOperationException("method must be common, ceil or floor");
        if (!PyValues.IsNumber(value)) throw new InvalidOperationException($"type {PyValues.TypeName(value)} doesn't define __round__ method");
        long precision = PyValues.ToLong(precisionV);
        if (method != "common")
        {
            double scale = Math.Pow(10, precision);
            double scaled = PyValues.ToDouble(value) * scale;
            return (method == "ceil" ? Math.Ceiling(scaled) : Math.Floor(scaled)) / scale;
        }
        if (value is not double d)
        {
            long l = PyValues.ToLong(value);
            if (precision >= 0) return l;
            var p = BigInteger.Pow(10, (int)-precision);
            return (long)(RoundHalfEven(l, p) * p);
        }
        if (!double.IsFinite(d) || precision > 330) return d;
        if (precision < -330) return d >= 0 ? 0.0 : -0.0;
        // exact binary value m·2^e, scaled by 10^precision, rounded half-to-even (as CPython's round()).
        long bits = BitConverter.DoubleToInt64Bits(d);
        bool neg = bits < 0;
        int exp = (int)((bits >> 52) & 0x7FF);
        long mant = bits & 0xFFFFFFFFFFFFFL;
        if (exp == 0) exp = 1; else mant |= 1L << 52;
        exp -= 1075;
        BigInteger num = mant, den = 1;
        if (exp >= 0) num <<= exp; else den <<= -exp;
        if (precision >= 0) num *= BigInteger.Pow(10, (int)precision); else den *= BigInteger.Pow(10, (int)-precision);
        var q = RoundHalfEven(num, den);
        double r = double.Parse($"{q}E{-precision}", CultureInfo.InvariantCulture);
        return neg ? -r : r;
    }

    private static BigInteger RoundHalfEven(BigInteger num, BigInteger den)
    {
        var q = BigInteger.DivRem(num, den, out var rem);
        if (rem.Sign < 0) { q -= 1; rem += den; }
        int c = (rem * 2).CompareTo(den);
        if (c > 0 || (c == 0 && !q.IsEven)) q += 1;
        return q;
    }

    private static string ToJson(object? value, FilterArgs a)
    {
        bool ascii = PyValues.IsTruthy(a.Get(0, "ensure_ascii", false));
        var indentV = a.Get(1, "indent", null);
        var separators = a.Get(2, "separators", null);
        bool sortKeys = PyValues.IsTruthy(a.Get(3, "sort_keys", false));
        string? indent = indentV switch
        {
            null => null,
            string s => s,
            long or bool => new string(' ', (int)Math.Clamp(PyValues.ToLong(indentV), 0, 4096)),
            _ => throw new InvalidOperationException($"can't multiply sequence by non-int of type '{PyValues.TypeName(indentV)}'"),
        };
        string itemSep = indent is null ? ", " : ",", keySep = ": ";
        if (separators != null)
        {
            var parts = separators as IReadOnlyList<object?> ?? throw new InvalidOperationException("separators must be a (item_separator, key_separator) pair");
            if (parts.Count != 2 || parts[0] is not string s0 || parts[1] is not string s1)
                throw new InvalidOperationException("separators must be a (item_separator, key_separator) pair");
            itemSep = s0;
            keySep = s1;
        }
        return JinjaJson.Dumps(value, ascii, indent, itemSep, keySep, sortKeys);
    }
}
