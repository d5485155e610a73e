using System.Globalization;
using System.Text;

namespace KimiSharp.Chat.Jinja;

/// <summary>Global functions: Jinja's range/namespace/dict and Hugging Face's raise_exception/strftime_now.</summary>
internal static class JinjaGlobals
{
    /// <summary>Jinja's sandbox refuses ranges longer than this (MAX_RANGE).</summary>
    public const long MaxRange = 100_000;

    public static IEnumerable<(string Name, object Function)> Create(JinjaInterpreter interp)
    {
        yield return ("range", new BuiltinFunction("range", (_, args, _, _) => Range(args)));
        yield return ("namespace", new BuiltinFunction("namespace", (_, args, kwargs, _) =>
        {
            var ns = new JinjaNamespace();
            foreach (var a in args)
            {
                if (a is not JinjaDict d) throw new InvalidOperationException("namespace() positional argument must be a mapping");
                foreach (var kv in d) ns.Attributes[PyValues.ToStr(kv.Key)] = kv.Value;
            }
            foreach (var (n, v) in kwargs) ns.Attributes[n] = v;
            return ns;
        }));
        yield return ("dict", new BuiltinFunction("dict", (_, args, kwargs, _) =>
        {
            var d = new JinjaDict();
            foreach (var a in args)
            {
                if (a is not JinjaDict src) throw new InvalidOperationException("dict() positional argument must be a mapping");
                foreach (var kv in src) d[kv.Key] = kv.Value;
            }
            foreach (var (n, v) in kwargs) d[n] = v;
            return d;
        }));
        yield return ("raise_exception", new BuiltinFunction("raise_exception", (_, args, _, at) =>
            throw new TemplateException(args.Count > 0 ? PyValues.ToStr(args[0]) : "raise_exception() called", at.Line, at.Column)));
        yield return ("strftime_now", new BuiltinFunction("strftime_now", (i, args, _, _) =>
            Strftime((i.Options.Now ?? (() => DateTime.Now))(), args.Count > 0 ? PyValues.ToStr(args[0]) : "")));
        _ = interp;
    }

    private static JinjaRange Range(List<object?> args)
    {
        foreach (var a in args)
        {
            if (a is not (long or bool)) throw new InvalidOperationException($"'{PyValues.TypeName(a)}' object cannot be interpreted as an integer");
        }
        long start = 0, stop, step = 1;
        switch (args.Count)
        {
            case 1: stop = PyValues.ToLong(args[0]); break;
            case 2: start = PyValues.ToLong(args[0]); stop = PyValues.ToLong(args[1]); break;
            case 3: start = PyValues.ToLong(args[0]); stop = PyValues.ToLong(args[1]); step = PyValues.ToLong(args[2]); break;
            default: throw new InvalidOperationException($"range expected at most 3 arguments, got {args.Count}");
        }
        if (step == 0) throw new InvalidOperationException("range() arg 3 must not be zero");
        var r = new JinjaRange(start, stop, step);
        double len = step > 0 ? Math.Ceiling((stop - (double)start) / step) : Math.Ceiling((start - (double)stop) / -step);
        if (len > MaxRange) throw new InvalidOperationException($"Range too big. The sandbox blocks ranges larger than MAX_RANGE ({MaxRange}).");
        return r;
    }

    /// <summary>C strftime for the common directives (as glibc formats them in the C locale).</summary>
    internal static string Strftime(DateTime t, string format)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%' || i + 1 >= format.Length) { sb.Append(c); continue; }
            char d = format[++i];
            bool noPad = false;
            if (d == '-' && i + 1 < format.Length) { noPad = true; d = format[++i]; }
            string Pad(int v, int w) => noPad ? v.ToString(inv) : v.ToString(new string('0', w), inv);
            switch (d)
            {
                case 'Y': sb.Append(t.Year.ToString(inv)); break;
                case 'y': sb.Append(Pad(t.Year % 100, 2)); break;
                case 'm': sb.Append(Pad(t.Month, 2)); break;
                case 'd': sb.Append(Pad(t.Day, 2)); break;
                case 'e': sb.Append(t.Day.ToString(inv).PadLeft(2)); break;
                case 'H': sb.Append(Pad(t.Hour, 2)); break;
                case 'I': sb.Append(Pad(t.Hour % 12 == 0 ? 12 : t.Hour % 12, 2)); break;
                case 'M': sb.Append(Pad(t.Minute, 2)); break;
                case 'S': sb.Append(Pad(t.Second, 2)); break;
                case 'p': sb.Append(t.Hour < 12 ? "AM" : "PM"); break;
                case 'B': sb.Append(t.ToString("MMMM", inv)); break;
                case 'b' or 'h': sb.Append(t.ToString("MMM", inv)); break;
                case 'A': sb.Append(t.ToString("dddd", inv)); break;
                case 'a': sb.Append(t.ToString("ddd", inv)); break;
                case 'j': sb.Append(Pad(t.DayOfYear, 3)); break;
                case 'F': sb.Append(t.ToString("yyyy-MM-dd", inv)); break;
                case 'T': sb.Append(t.ToString("HH:mm:ss", inv)); break;
                case 'D': sb.Append(t.ToString("MM/dd/yy", inv)); break;
                case 'w': sb.Append((int)t.DayOfWeek); break;
                case 'u': sb.Append(t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek); break;
                case '%': sb.Append('%'); break;
                default: sb.Append('%'); if (noPad) sb.Append('-'); sb.Append(d); break;
            }
        }
        return sb.ToString();
    }
}
