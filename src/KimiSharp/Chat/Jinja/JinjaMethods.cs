using System.Text;

namespace KimiSharp.Chat.Jinja;

/// <summary>Attribute and item access (Jinja's getattr/getitem rules) and the Python str/list/dict methods
/// templates call.</summary>
internal static class JinjaMethods
{
    private static readonly HashSet<string> StrMethods =
    [
        "upper", "lower", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "replace", "startswith", "endswith",
        "title", "capitalize", "swapcase", "find", "rfind", "index", "rindex", "count", "join", "isdigit", "isalpha", "isalnum",
        "isspace", "isupper", "islower", "isnumeric", "isdecimal", "center", "ljust", "rjust", "zfill", "partition", "rpartition",
        "removeprefix", "removesuffix", "format", "casefold",
    ];

    private static readonly HashSet<string> ListMethods = ["append", "extend", "insert", "pop", "remove", "index", "count", "reverse", "sort", "copy", "clear"];

    private static readonly HashSet<string> ListMutators = ["append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"];

    private static readonly HashSet<string> DictMethods = ["get", "items", "keys", "values", "copy", "update", "pop", "popitem", "setdefault", "clear"];

    private static readonly HashSet<string> DictMutators = ["update", "pop", "popitem", "setdefault", "clear"];

    public static object? GetAttr(JinjaInterpreter interp, object? obj, string name)
    {
        switch (obj)
        {
            case JinjaNamespace ns:
                return ns.Attributes.TryGetValue(name, out var nv) ? nv : JinjaUndefined.Attribute(obj, name);
            case LoopContext loop:
                return LoopAttr(loop, name);
            case string s when StrMethods.Contains(name):
                return new BoundMethod(s, name);
            case List<object?> l when ListMethods.Contains(name):
                return Guard(interp, l, name, ListMutators.Contains(name));
            case JinjaTuple t when name is "index" or "count":
                return new BoundMethod(t, name);
            case JinjaDict d:
                if (DictMethods.Contains(name)) return Guard(interp, d, name, DictMutators.Contains(name));
                return d.TryGetValue(name, out var dv) ? dv : JinjaUndefined.Attribute(obj, name);
            default:
                return JinjaUndefined.Attribute(obj, name);
        }
    }

    private static object Guard(JinjaInterpreter interp, object receiver, string name, bool mutates) =>
        mutates && !interp.Options.AllowMutation
            ? new JinjaUndefined($"{PyValues.ObjectDescription(receiver)} has no attribute '{name}'",
                $"access to attribute '{name}' of '{PyValues.TypeName(receiver)}' object is unsafe.")
            : new BoundMethod(receiver, name);

    private static object? LoopAttr(LoopContext loop, string name)
    {
        int n = loop.Items.Count, i = loop.Index0;
        return name switch
        {
            "index" => (long)(i + 1),
            "index0" => (long)i,
            "revindex" => (long)(n - i),
            "revindex0" => (long)(n - i - 1),
            "first" => i == 0,
            "last" => i == n - 1,
            "length" => (long)n,
            "depth" => 1L,
            "depth0" => 0L,
            "previtem" => i > 0 ? loop.Items[i - 1] : new JinjaUndefined("there is no previous item"),
            "nextitem" => i < n - 1 ? loop.Items[i + 1] : new JinjaUndefined("there is no next item"),
            "cycle" or "changed" => new BoundMethod(loop, name),
            _ => JinjaUndefined.Attribute(loop, name),
        };
    }

    public static object? GetItem(JinjaInterpreter interp, object? obj, object? key)
    {
        switch (obj)
        {
            case JinjaDict d:
                if (key is not null && key is not List<object?> && key is not JinjaDict && d.TryGetValue(key, out var v)) return v;
                break;
            case IReadOnlyList<object?> list when key is long or bool:
                {
                    long idx = PyValues.ToLong(key);
                    if (idx < 0) idx += list.Count;
                    if (idx >= 0 && idx < list.Count) return list[(int)idx];
                    return new JinjaUndefined($"{PyValues.ObjectDescription(obj)} has no element {PyValues.Repr(key)}");
                }
            case string s when key is long or bool:
                {
                    var cps = CodePoints(s);
                    long idx = PyValues.ToLong(key);
                    if (idx < 0) idx += cps.Count;
                    if (idx >= 0 && idx < cps.Count) return cps[(int)idx];
                    return new JinjaUndefined($"'str object' has no element {PyValues.Repr(key)}");
                }
        }
        if (key is string name) return GetAttr(interp, obj, name);
        return new JinjaUndefined($"{PyValues.ObjectDescription(obj)} has no element {PyValues.Repr(key)}");
    }

    internal static List<string> CodePoints(string s)
    {
        var r = new List<string>(s.Length);
        for (int i = 0; i < s.Length;)
        {
            PyValues.CodePointAt(s, i, out int w);
            r.Add(s.Substring(i, w));
            i += w;
        }
        return r;
    }

    private static long? SliceIndex(object? v) => v switch
    {
        null => null,
        long or bool => PyValues.ToLong(v),
        _ => throw new InvalidOperationException("slice indices must be integers or None or have an __index__ method"),
    };

    /// <summary>Python slice indices (PySlice_AdjustIndices).</summary>
    internal static List<int> SliceIndices(int len, object? startV, object? stopV, object? stepV)
    {
        long step = SliceIndex(stepV) ?? 1;
        if (step == 0) throw new InvalidOperationException("slice step cannot be zero");
        long? s0 = SliceIndex(startV), e0 = SliceIndex(stopV);
        long start, stop;
        if (step > 0)
        {
            start = s0 is { } a ? (a < 0 ? Math.Max(0, a + len) : Math.Min(a, len)) : 0;
            stop = e0 is { } b ? (b < 0 ? Math.Max(0, b + len) : Math.Min(b, len)) : len;
        }
        else
        {
            start = s0 is { } a ? (a < 0 ? Math.Max(-1, a + len) : Math.Min(a, len - 1)) : len - 1;
            stop = e0 is { } b ? (b < 0 ? Math.Max(-1, b + len) : Math.Min(b, len - 1)) : -1;
        }
        var r = new List<int>();
        if (step > 0)
            for (long i = start; i < stop; i += step) r.Add((int)i);
        else
            for (long i = start; i > stop; i += step) r.Add((int)i);
        return r;
    }

    public static object? Slice(object? obj, object? start, object? stop, object? step)
    {
        switch (obj)
        {
            case string s:
                {
                    var cps = CodePoints(s);
                    var sb = new StringBuilder();
                    foreach (int i in SliceIndices(cps.Count, start, stop, step)) sb.Append(cps[i]);
                    return sb.ToString();
                }
            case JinjaTuple t:
                return new JinjaTuple([.. SliceIndices(t.Count, start, stop, step).Select(i => t[i])]);
            case IReadOnlyList<object?> l:
                return SliceIndices(l.Count, start, stop, step).Select(i => l[i]).ToList();
            case null:
                return new JinjaUndefined("'NoneType' object is not subscriptable");
            default:
                throw new InvalidOperationException($"'{PyValues.TypeName(obj)}' object is not subscriptable");
        }
    }

    private static object? Arg(List<object?> args, List<(string Name, object? Value)> kwargs, int index, string name, object? defaultValue)
    {
        if (index < args.Count) return args[index];
        foreach (var (n, v) in kwargs)
        {
            if (n == name) return v;
        }
        return defaultValue;
    }

    private static string StrArg(object? v, string what) =>
        v as string ?? throw new InvalidOperationException($"{what} arg must be None or str, not {PyValues.TypeName(v)}");

    public static object? Call(JinjaInterpreter interp, object receiver, string name, List<object?> args, List<(string Name, object? Value)> kwargs, Node at) =>
        receiver switch
        {
            string s => CallStr(interp, s, name, args, kwargs),
            List<object?> l => CallList(l, name, args, kwargs),
            JinjaTuple t => CallList([.. t.Items], name, args, kwargs),
            JinjaDict d => CallDict(d, name, args, kwargs),
            LoopContext loop => CallLoop(loop, name, args),
            _ => throw new InvalidOperationException($"unknown method {name}"),
        };

    private static object? CallLoop(LoopContext loop, string name, List<object?> args)
    {
        if (name == "cycle")
        {
            if (args.Count == 0) throw new InvalidOperationException("no items for cycling given");
            return args[loop.Index0 % args.Count];
        }
        object? value = args.Count == 1 ? args[0] : new JinjaTuple([.. args]);
        bool changed = ReferenceEquals(loop.LastChanged, LoopContext.NoValue) || !PyValues.PyEquals(loop.LastChanged, value);
        loop.LastChanged = value;
        return changed;
    }

    internal static string PyStrip(string s, string? chars, bool left, bool right)
    {
        int a = 0, b = s.Length;
        Func<char, bool> strip = chars is null ? JinjaLexer.IsPyWhitespace : c => chars.Contains(c);
        if (left) while (a < b && strip(s[a])) a++;
        if (right) while (b > a && strip(s[b - 1])) b--;
        return s[a..b];
    }

    internal static List<object?> PySplit(string s, string? sep, long maxSplit)
    {
        var r = new List<object?>();
        if (sep is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && JinjaLexer.IsPyWhitespace(s[i])) i++;
                if (i >= s.Length) break;
                if (maxSplit >= 0 && r.Count >= maxSplit)
                {
                    r.Add(s[i..]);
                    break;
                }
                int j = i;
                while (j < s.Length && !JinjaLexer.IsPyWhitespace(s[j])) j++;
                r.Add(s[i..j]);
                i = j;
            }
            return r;
        }
        if (sep.Length == 0) throw new InvalidOperationException("empty separator");
        int start = 0;
        while (maxSplit < 0 || r.Count < maxSplit)
        {
            int k = s.IndexOf(sep, start, StringComparison.Ordinal);
            if (k < 0) break;
            r.Add(s[start..k]);
            start = k + sep.Length;
        }
        r.Add(s[start..]);
        return r;
    }

    private static List<object?> PyRSplit(string s, string? sep, long maxSplit)
    {
        if (maxSplit < 0) return PySplit(s, sep, -1);
        var r = new List<object?>();
        if (sep is null)
        {
            int i = s.Length;
            while (true)
            {
                while (i > 0 && JinjaLexer.IsPyWhitespace(s[i - 1])) i--;
                if (i <= 0) break;
                if (r.Count >= maxSplit)
                {
                    r.Add(s[..i]);
                    break;
                }
                int j = i;
                while (j > 0 && !JinjaLexer.IsPyWhitespace(s[j - 1])) j--;
                r.Add(s[j..i]);
                i = j;
            }
            r.Reverse();
            return r;
        }
        if (sep.Length == 0) throw new InvalidOperationException("empty separator");
        int end = s.Length;
        while (r.Count < maxSplit)
        {
            int k = end - sep.Length < 0 ? -1 : s.LastIndexOf(sep, end - 1, end, StringComparison.Ordinal);
            if (k < 0 || k + sep.Length > end) break;
            r.Add(s[(k + sep.Length)..end]);
            end = k;
        }
        r.Add(s[..end]);
        r.Reverse();
        return r;
    }

    internal static string PyReplace(string s, string old, string replacement, long count)
    {
        if (count < 0) count = long.MaxValue;
        if (old.Length == 0)
        {
            var sb = new StringBuilder();
            long n = 0;
            var cps = CodePoints(s);
            foreach (var cp in cps)
            {
                if (n < count) { sb.Append(replacement); n++; }
                sb.Append(cp);
            }
            if (n < count) sb.Append(replacement);
            return sb.ToString();
        }
        var result = new StringBuilder();
        int start = 0;
        long done = 0;
        while (done < count)
        {
            int k = s.IndexOf(old, start, StringComparison.Ordinal);
            if (k < 0) break;
            result.Append(s, start, k - start).Append(replacement);
            start = k + old.Length;
            done++;
        }
        result.Append(s, start, s.Length - start);
        return result.ToString();
    }

    /// <summary>str.upper with the special casings .NET's simple mapping lacks (ß → SS, ligatures).</summary>
    internal static string PyUpper(string s)
    {
        string upper = s.ToUpperInvariant();
        if (upper.AsSpan().IndexOfAny("ßﬀﬁﬂﬃﬄﬅﬆŉ") < 0) return upper;
        var sb = new StringBuilder(upper.Length + 4);
        foreach (char c in upper)
        {
            sb.Append(c switch
            {
                'ß' => "SS",
                'ﬀ' => "FF",
                'ﬁ' => "FI",
                'ﬂ' => "FL",
                'ﬃ' => "FFI",
                'ﬄ' => "FFL",
                'ﬅ' or 'ﬆ' => "ST",
                'ŉ' => "\u02BCN",
                _ => c.ToString(),
            });
        }
        return sb.ToString();
    }

    /// <summary>str.lower with Python's special casing of İ (→ i + combining dot).</summary>
    internal static string PyLower(string s) => s.Contains('İ') ? s.Replace("İ", "i\u0307").ToLowerInvariant() : s.ToLowerInvariant();

    internal static string PyCapitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    internal static string PyTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool prevCased = false;
        foreach (char c in s)
        {
            bool cased = char.IsUpper(c) || char.IsLower(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.TitlecaseLetter;
            sb.Append(cased ? (prevCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)) : c);
            prevCased = cased;
        }
        return sb.ToString();
    }

    private static bool AffixMatch(string s, object? affix, List<object?> args, bool prefix)
    {
        long len = s.Length;
        long start = args.Count > 1 && args[1] is long or bool ? PyValues.ToLong(args[1]) : 0;
        long end = args.Count > 2 && args[2] is long or bool ? PyValues.ToLong(args[2]) : len;
        if (start < 0) start = Math.Max(0, start + len);
        if (end < 0) end = Math.Max(0, end + len);
        end = Math.Min(end, len);
        string window = start > end ? "" : s[(int)Math.Min(start, len)..(int)end];
        if (start > len) return false;
        IEnumerable<object?> options = affix is JinjaTuple t ? t.Items : [affix];
        foreach (var o in options)
        {
            if (o is not string a) throw new InvalidOperationException($"{(prefix ? "startswith" : "endswith")} first arg must be str or a tuple of str, not {PyValues.TypeName(o)}");
            if (prefix ? window.StartsWith(a, StringComparison.Ordinal) : window.EndsWith(a, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    private static object? CallStr(JinjaInterpreter interp, string s, string name, List<object?> args, List<(string Name, object? Value)> kwargs)
    {
        switch (name)
        {
            case "upper": return PyUpper(s);
            case "lower": return PyLower(s);
            case "casefold": return s.ToLowerInvariant();
            case "swapcase":
                return string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.IsLower(c) ? char.ToUpperInvariant(c) : c));
            case "strip": return PyStrip(s, (string?)NullableStr(Arg(args, kwargs, 0, "chars", null)), true, true);
            case "lstrip": return PyStrip(s, (string?)NullableStr(Arg(args, kwargs, 0, "chars", null)), true, false);
            case "rstrip": return PyStrip(s, (string?)NullableStr(Arg(args, kwargs, 0, "chars", null)), false, true);
            case "split": return PySplit(s, NullableStr(Arg(args, kwargs, 0, "sep", null)), PyValues.ToLong(Arg(args, kwargs, 1, "maxsplit", -1L)));
            case "rsplit": return PyRSplit(s, NullableStr(Arg(args, kwargs, 0, "sep", null)), PyValues.ToLong(Arg(args, kwargs, 1, "maxsplit", -1L)));
            case "splitlines": return SplitLines(s, PyValues.IsTruthy(Arg(args, kwargs, 0, "keepends", false)));
            case "replace":
                {
                    if (args.Count < 2) throw new InvalidOperationException("replace expected at least 2 arguments");
                    var r = PyReplace(s, StrArg(args[0], "replace"), StrArg(args[1], "replace"), args.Count > 2 ? PyValues.ToLong(args[2]) : -1);
                    interp.CheckLength(r.Length, new LiteralExpr(null, 0, 0));
                    return r;
                }
            case "startswith": return AffixMatch(s, args.Count > 0 ? args[0] : null, args, prefix: true);
            case "endswith": return AffixMatch(s, args.Count > 0 ? args[0] : null, args, prefix: false);
            case "title": return PyTitle(s);
            case "capitalize": return PyCapitalize(s);
            case "find": return (long)s.IndexOf(StrArg(args.FirstOrDefault(), "find"), StringComparison.Ordinal);
            case "rfind": return (long)s.LastIndexOf(StrArg(args.FirstOrDefault(), "rfind"), StringComparison.Ordinal);
            case "index" or "rindex":
                {
                    string sub = StrArg(args.FirstOrDefault(), name);
                    int k = name == "index" ? s.IndexOf(sub, StringComparison.Ordinal) : s.LastIndexOf(sub, StringComparison.Ordinal);
                    if (k < 0) throw new InvalidOperationException("substring not found");
                    return (long)k;
                }
            case "count":
                {
                    string sub = StrArg(args.FirstOrDefault(), "count");
                    if (sub.Length == 0) return (long)CodePoints(s).Count + 1;
                    long n = 0;
                    for (int k = s.IndexOf(sub, StringComparison.Ordinal); k >= 0; k = s.IndexOf(sub, k + sub.Length, StringComparison.Ordinal)) n++;
                    return n;
                }
            case "join":
                {
                    var items = interp.Iterate(args.FirstOrDefault(), new LiteralExpr(null, 0, 0));
                    var sb = new StringBuilder();
                    for (int i = 0; i < items.Count; i++)
                    {
                        if (items[i] is not string item) throw new InvalidOperationException($"sequence item {i}: expected str instance, {PyValues.TypeName(items[i])} found");
                        if (i > 0) sb.Append(s);
                        sb.Append(item);
                    }
                    return sb.ToString();
                }
            case "isdigit" or "isdecimal" or "isnumeric": return s.Length > 0 && s.All(char.IsDigit);
            case "isalpha": return s.Length > 0 && s.All(char.IsLetter);
            case "isalnum": return s.Length > 0 && s.All(char.IsLetterOrDigit);
            case "isspace": return s.Length > 0 && s.All(JinjaLexer.IsPyWhitespace);
            case "isupper": return s.Any(char.IsUpper) && !s.Any(char.IsLower);
            case "islower": return s.Any(char.IsLower) && !s.Any(char.IsUpper);
            case "center" or "ljust" or "rjust":
                {
                    int width = (int)Math.Min(PyValues.ToLong(args.FirstOrDefault() ?? 0L), 1 << 20);
                    string fill = args.Count > 1 ? StrArg(args[1], name) : " ";
                    int len = CodePoints(s).Count;
                    if (width <= len) return s;
                    int total = width - len;
                    int left = name switch { "ljust" => 0, "rjust" => total, _ => total / 2 + (total & width & 1) };
                    return string.Concat(Enumerable.Repeat(fill, left)) + s + string.Concat(Enumerable.Repeat(fill, total - left));
                }
            case "zfill":
                {
                    int width = (int)Math.Min(PyValues.ToLong(args.FirstOrDefault() ?? 0L), 1 << 20);
                    if (width <= s.Length) return s;
                    bool sign = s.Length > 0 && (s[0] == '-' || s[0] == '+');
                    return sign ? s[0] + new string('0', width - s.Length) + s[1..] : new string('0', width - s.Length) + s;
                }
            case "partition" or "rpartition":
                {
                    string sep = StrArg(args.FirstOrDefault(), name);
                    if (sep.Length == 0) throw new InvalidOperationException("empty separator");
                    int k = name == "partition" ? s.IndexOf(sep, StringComparison.Ordinal) : s.LastIndexOf(sep, StringComparison.Ordinal);
                    if (k < 0) return name == "partition" ? new JinjaTuple([s, "", ""]) : new JinjaTuple(["", "", s]);
                    return new JinjaTuple([s[..k], sep, s[(k + sep.Length)..]]);
                }
            case "removeprefix":
                {
                    string p = StrArg(args.FirstOrDefault(), name);
                    return s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s;
                }
            case "removesuffix":
                {
                    string p = StrArg(args.FirstOrDefault(), name);
                    return p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s;
                }
            case "format": return Format(s, args, kwargs);
            default: throw new InvalidOperationException($"'str' object has no attribute '{name}'");
        }
    }

    private static string? NullableStr(object? v) => v is null ? null : StrArg(v, "sep");

    private static List<object?> SplitLines(string s, bool keepEnds)
    {
        var r = new List<object?>();
        int start = 0, i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            int eol = 0;
            if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n') eol = 2;
            else if (c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029') eol = 1;
            if (eol == 0) { i++; continue; }
            r.Add(keepEnds ? s[start..(i + eol)] : s[start..i]);
            i += eol;
            start = i;
        }
        if (start < s.Length) r.Add(s[start..]);
        return r;
    }

    /// <summary>str.format with plain replacement fields ({}, {0}, {name}); no format specs.</summary>
    private static string Format(string s, List<object?> args, List<(string Name, object? Value)> kwargs)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '{' && i + 1 < s.Length && s[i + 1] == '{') { sb.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < s.Length && s[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (c == '}') throw new InvalidOperationException("Single '}' encountered in format string");
            if (c != '{') { sb.Append(c); continue; }
            int close = s.IndexOf('}', i);
            if (close < 0) throw new InvalidOperationException("Single '{' encountered in format string");
            string field = s[(i + 1)..close];
            if (field.Contains(':') || field.Contains('!') || field.Contains('.') || field.Contains('['))
                throw new InvalidOperationException("format specifications are not supported");
            object? value;
            if (field.Length == 0)
            {
                if (auto >= args.Count) throw new InvalidOperationException($"Replacement index {auto} out of range for positional args tuple");
                value = args[auto++];
            }
            else if (int.TryParse(field, out int idx))
            {
                if (idx >= args.Count) throw new InvalidOperationException($"Replacement index {idx} out of range for positional args tuple");
                value = args[idx];
            }
            else
            {
                int k = kwargs.FindIndex(kv => kv.Name == field);
                if (k < 0) throw new InvalidOperationException($"'{field}'");
                value = kwargs[k].Value;
            }
            sb.Append(PyValues.ToStr(value));
            i = close;
        }
        return sb.ToString();
    }

    private static object? CallList(List<object?> l, string name, List<object?> args, List<(string Name, object? Value)> kwargs)
    {
        switch (name)
        {
            case "append":
                if (args.Count != 1) throw new InvalidOperationException($"list.append() takes exactly one argument ({args.Count} given)");
                l.Add(args[0]);
                return null;
            case "extend":
                l.AddRange(args.FirstOrDefault() switch
                {
                    IReadOnlyList<object?> other => [.. other],
                    JinjaDict d => [.. d.Keys],
                    string s => CodePoints(s).Cast<object?>().ToList(),
                    var o => throw new InvalidOperationException($"'{PyValues.TypeName(o)}' object is not iterable"),
                });
                return null;
            case "insert":
                {
                    if (args.Count != 2) throw new InvalidOperationException("insert expected 2 arguments");
                    long i = PyValues.ToLong(args[0]);
                    if (i < 0) i = Math.Max(0, i + l.Count);
                    l.Insert((int)Math.Min(i, l.Count), args[1]);
                    return null;
                }
            case "pop":
                {
                    if (l.Count == 0) throw new InvalidOperationException("pop from empty list");
                    long i = args.Count > 0 ? PyValues.ToLong(args[0]) : -1;
                    if (i < 0) i += l.Count;
                    if (i < 0 || i >= l.Count) throw new InvalidOperationException("pop index out of range");
                    var v = l[(int)i];
                    l.RemoveAt((int)i);
                    return v;
                }
            case "remove":
                {
                    int k = l.FindIndex(x => PyValues.PyEquals(x, args.FirstOrDefault()));
                    if (k < 0) throw new InvalidOperationException("list.remove(x): x not in list");
                    l.RemoveAt(k);
                    return null;
                }
            case "index":
                {
                    int k = l.FindIndex(x => PyValues.PyEquals(x, args.FirstOrDefault()));
                    if (k < 0) throw new InvalidOperationException($"{PyValues.Repr(args.FirstOrDefault())} is not in list");
                    return (long)k;
                }
            case "count": return (long)l.Count(x => PyValues.PyEquals(x, args.FirstOrDefault()));
            case "reverse": l.Reverse(); return null;
            case "sort":
                {
                    bool reverse = PyValues.IsTruthy(Arg([], kwargs, 0, "reverse", false));
                    var sorted = JinjaFilters.StableSort(l, x => x, reverse);
                    l.Clear();
                    l.AddRange(sorted);
                    return null;
                }
            case "copy": return new List<object?>(l);
            case "clear": l.Clear(); return null;
            default: throw new InvalidOperationException($"'list' object has no attribute '{name}'");
        }
    }

    private static object? CallDict(JinjaDict d, string name, List<object?> args, List<(string Name, object? Value)> kwargs)
    {
        switch (name)
        {
            case "get":
                {
                    if (args.Count == 0) throw new InvalidOperationException("get expected at least 1 argument, got 0");
                    var key = args[0];
                    return key is not null && d.TryGetValue(key, out var v) ? v : (args.Count > 1 ? args[1] : null);
                }
            case "items": return d.Select(kv => (object?)new JinjaTuple([kv.Key, kv.Value])).ToList();
            case "keys": return d.Keys.Cast<object?>().ToList();
            case "values": return d.Values.ToList();
            case "copy":
                {
                    var c = new JinjaDict();
                    foreach (var kv in d) c[kv.Key] = kv.Value;
                    return c;
                }
            case "update":
                if (args.FirstOrDefault() is JinjaDict other) foreach (var kv in other) d[kv.Key] = kv.Value;
                foreach (var (n, v) in kwargs) d[n] = v;
                return null;
            case "pop":
                {
                    var key = args.FirstOrDefault();
                    if (key is not null && d.Remove(key, out var v)) return v;
                    if (args.Count > 1) return args[1];
                    throw new InvalidOperationException(PyValues.Repr(key));
                }
            case "popitem":
                {
                    if (d.Count == 0) throw new InvalidOperationException("'popitem(): dictionary is empty'");
                    var last = d.GetAt(d.Count - 1);
                    d.RemoveAt(d.Count - 1);
                    return new JinjaTuple([last.Key, last.Value]);
                }
            case "setdefault":
                {
                    var key = args.FirstOrDefault() ?? throw new InvalidOperationException("unhashable key");
                    if (d.TryGetValue(key, out var v)) return v;
                    var def = args.Count > 1 ? args[1] : null;
                    d[key] = def;
                    return def;
                }
            case "clear": d.Clear(); return null;
            default: throw new InvalidOperationException($"'dict' object has no attribute '{name}'");
        }
    }
}
