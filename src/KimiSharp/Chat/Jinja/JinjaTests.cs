namespace KimiSharp.Chat.Jinja;

/// <summary>Jinja2's built-in tests (<c>x is defined</c>, <c>x is string</c>, …).</summary>
internal static class JinjaTests
{
    public static bool Apply(JinjaInterpreter interp, string name, object? value, List<object?> args, List<(string Name, object? Value)> kwargs)
    {
        object? Arg0() => args.Count > 0 ? args[0] : kwargs.Count > 0 ? kwargs[0].Value : throw new InvalidOperationException($"test '{name}' needs an argument");
        switch (name)
        {
            case "defined": return value is not JinjaUndefined;
            case "undefined": return value is JinjaUndefined;
            case "none": return value is null;
            case "boolean": return value is bool;
            case "true": return value is true;
            case "false": return value is false;
            case "integer": return value is long;
            case "float": return value is double;
            case "number": return value is long or double or bool;
            case "string": return value is string;
            case "mapping": return value is JinjaDict;
            case "iterable": return value is string or JinjaDict or IReadOnlyList<object?> or JinjaUndefined or JinjaGenerator;
            case "sequence": return value is string or JinjaDict or IReadOnlyList<object?> or JinjaUndefined;
            case "callable": return value is IJinjaCallable;
            case "sameas":
                {
                    var other = Arg0();
                    if (value is null || other is null) return value is null && other is null;
                    if (value is bool || other is bool) return value is bool b1 && other is bool b2 && b1 == b2;
                    if (value is long l1 && other is long l2) return l1 == l2 && l1 >= -5 && l1 <= 256;
                    return ReferenceEquals(value, other);
                }
            case "escaped": return false;
            case "odd": return PyValues.PyEquals(JinjaOperators.Binary("%", value, 2L), 1L);
            case "even": return PyValues.PyEquals(JinjaOperators.Binary("%", value, 2L), 0L);
            case "divisibleby":
                {
                    return PyValues.PyEquals(JinjaOperators.Binary("%", value, Arg0()), 0L);
                }
            case "lower": return value is string sl ? sl == sl.ToLowerInvariant() && sl.Any(char.IsLower) : PyValues.ToStr(value).Any(char.IsLower) && !PyValues.ToStr(value).Any(char.IsUpper);
            case "upper": return value is string su ? su == su.ToUpperInvariant() && su.Any(char.IsUpper) : PyValues.ToStr(value).Any(char.IsUpper) && !PyValues.ToStr(value).Any(char.IsLower);
            case "in": return JinjaOperators.Contains(Arg0(), value);
            case "eq" or "equalto" or "==": return JinjaOperators.Compare("==", value, Arg0());
            case "ne" or "!=": return JinjaOperators.Compare("!=", value, Arg0());
            case "lt" or "lessthan" or "<": return JinjaOperators.Compare("<", value, Arg0());
            case "le" or "<=": return JinjaOperators.Compare("<=", value, Arg0());
            case "gt" or "greaterthan" or ">": return JinjaOperators.Compare(">", value, Arg0());
            case "ge" or ">=": return JinjaOperators.Compare(">=", value, Arg0());
            case "filter": return value is string f && IsKnownFilter(interp, f);
            case "test": return value is string t && KnownTests.Contains(t);
            default: throw new InvalidOperationException($"No test named '{name}'.");
        }
    }

    private static readonly HashSet<string> KnownTests =
    [
        "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number", "string", "mapping", "iterable",
        "sequence", "callable", "sameas", "escaped", "odd", "even", "divisibleby", "lower", "upper", "in", "eq", "equalto", "==",
        "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "filter", "test",
    ];

    private static bool IsKnownFilter(JinjaInterpreter interp, string name)
    {
        try
        {
            JinjaFilters.Apply(interp, name, "", [], [], new LiteralExpr(null, 0, 0));
            return true;
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("No filter named", StringComparison.Ordinal))
        {
            return false;
        }
        catch (Exception)
        {
            return true;
        }
    }
}
