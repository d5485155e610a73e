using System.Text;

namespace KimiSharp.Chat.Jinja;

/// <summary>Python's arithmetic and comparison operators over template values.</summary>
internal static class JinjaOperators
{
    public static object? Unary(string op, object? v)
    {
        if (!PyValues.IsNumber(v)) throw new InvalidOperationException($"bad operand type for unary {op}: '{PyValues.TypeName(v)}'");
        if (v is double d) return op == "-" ? -d : d;
        // bool operands become int, as in Python
        long l = PyValues.ToLong(v);
        return op == "-" ? (object)checked(-l) : l;
    }

    private static InvalidOperationException Unsupported(string op, object? a, object? b) =>
        new($"unsupported operand type(s) for {op}: '{PyValues.TypeName(a)}' and '{PyValues.TypeName(b)}'");

    public static object? Binary(string op, object? a, object? b)
    {
        bool numbers = PyValues.IsNumber(a) && PyValues.IsNumber(b);
        bool floats = numbers && (a is double || b is double);
        switch (op)
        {
            case "+":
                if (numbers) return floats ? PyValues.ToDouble(a) + PyValues.ToDouble(b) : (object)checked(PyValues.ToLong(a) + PyValues.ToLong(b));
                if (a is string sa && b is string sb) return sa + sb;
                if (a is List<object?> la && b is List<object?> lb) return new List<object?>(la.Concat(lb));
                if (a is JinjaTuple ta && b is JinjaTuple tb) return new JinjaTuple([.. ta.Items, .. tb.Items]);
                if (a is string) throw new InvalidOperationException($"can only concatenate str (not \"{PyValues.TypeName(b)}\") to str");
                if (a is List<object?>) throw new InvalidOperationException($"can only concatenate list (not \"{PyValues.TypeName(b)}\") to list");
                throw Unsupported("+", a, b);
            case "-":
                if (numbers) return floats ? PyValues.ToDouble(a) - PyValues.ToDouble(b) : (object)checked(PyValues.ToLong(a) - PyValues.ToLong(b));
                throw Unsupported("-", a, b);
            case "*":
                if (numbers) return floats ? PyValues.ToDouble(a) * PyValues.ToDouble(b) : (object)checked(PyValues.ToLong(a) * PyValues.ToLong(b));
                if (a is string s1 && b is long or bool) return Repeat(s1, PyValues.ToLong(b));
                if (b is string s2 && a is long or bool) return Repeat(s2, PyValues.ToLong(a));
                if (a is List<object?> l1 && b is long or bool) return RepeatList(l1, PyValues.ToLong(b));
                if (b is List<object?> l2 && a is long or bool) return RepeatList(l2, PyValues.ToLong(a));
                throw Unsupported("*", a, b);
            case "/":
                if (!numbers) throw Unsupported("/", a, b);
                if (PyValues.ToDouble(b) == 0) throw new InvalidOperationException("division by zero");
                return PyValues.ToDouble(a) / PyValues.ToDouble(b);
            case "//":
                if (!numbers) throw Unsupported("//", a, b);
                if (PyValues.ToDouble(b) == 0) throw new InvalidOperationException("integer division or modulo by zero");
                if (floats) return Math.Floor(PyValues.ToDouble(a) / PyValues.ToDouble(b));
                return FloorDiv(PyValues.ToLong(a), PyValues.ToLong(b));
            case "%":
                if (!numbers)
                {
                    if (a is string) throw new InvalidOperationException("printf-style string formatting is not supported");
                    throw Unsupported("%", a, b);
                }
                if (PyValues.ToDouble(b) == 0) throw new InvalidOperationException("integer division or modulo by zero");
                if (floats)
                {
                    double x = PyValues.ToDouble(a), y = PyValues.ToDouble(b);
                    double m = x % y;
                    if (m != 0 && (m < 0) != (y < 0)) m += y;
                    return m;
                }
                {
                    long x = PyValues.ToLong(a), y = PyValues.ToLong(b);
                    long m = x % y;
                    if (m != 0 && (m < 0) != (y < 0)) m += y;
                    return m;
                }
            case "**":
                if (!numbers) throw Unsupported("** or pow()", a, b);
                if (!floats && PyValues.ToLong(b) >= 0)
                {
                    long bas = PyValues.ToLong(a), e = PyValues.ToLong(b), r = 1;
                    for (long i = 0; i < e; i++)
                    {
                        r = checked(r * bas);
                        if (r == 0 || r == 1 && bas == 1) break;
                    }
                    return r;
                }
                return Math.Pow(PyValues.ToDouble(a), PyValues.ToDouble(b));
            default:
                throw new InvalidOperationException($"unknown operator {op}");
        }
    }

    private static long FloorDiv(long x, long y)
    {
        long q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
        return q;
    }

    private static string Repeat(string s, long n)
    {
        if (n <= 0 || s.Length == 0) return "";
        if (s.Length * n > 64L * 1024 * 1024) throw new InvalidOperationException("string too long");
        var sb = new StringBuilder((int)(s.Length * n));
        for (long i = 0; i < n; i++) sb.Append(s);
        return sb.ToString();
    }

    private static List<object?> RepeatList(List<object?> l, long n)
    {
        if (n <= 0) return [];
        if (l.Count * n > 10_000_000) throw new InvalidOperationException("list too long");
        var r = new List<object?>();
        for (long i = 0; i < n; i++) r.AddRange(l);
        return r;
    }

    public static bool Compare(string op, object? a, object? b)
    {
        switch (op)
        {
            case "==": return PyValues.PyEquals(a, b);
            case "!=": return !PyValues.PyEquals(a, b);
            case "in": return Contains(b, a);
            case "notin": return !Contains(b, a);
        }
        if (a is JinjaUndefined ua) throw new InvalidOperationException(ua.Hint);
        if (b is JinjaUndefined ub) throw new InvalidOperationException(ub.Hint);
        int c = PyValues.PyCompare(a, b, op);
        return op switch
        {
            "<" => c < 0,
            "<=" => c <= 0,
            ">" => c > 0,
            ">=" => c >= 0,
            _ => throw new InvalidOperationException($"unknown operator {op}"),
        };
    }

    /// <summary>Python <c>item in container</c>.</summary>
    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s:
                if (item is not string sub) throw new InvalidOperationException($"'in <string>' requires string as left operand, not {PyValues.TypeName(item)}");
                return s.Contains(sub, StringComparison.Ordinal);
            case JinjaDict d:
                return item is not null && d.ContainsKey(item);
            case IReadOnlyList<object?> l:
                foreach (var x in l)
                {
                    if (PyValues.PyEquals(x, item)) return true;
                }
                return false;
            case JinjaUndefined:
                return false;
            default:
                throw new InvalidOperationException($"argument of type '{PyValues.TypeName(container)}' is not iterable");
        }
    }
}
