using System.Collections;

namespace KimiSharp.Chat.Jinja;

/// <summary>Jinja2's default Undefined: prints as "", iterates as empty, is falsy; most other uses raise.
/// <see cref="SecurityMessage"/> marks the "unsafe attribute" undefined of the immutable sandbox.</summary>
internal sealed class JinjaUndefined
{
    public JinjaUndefined(string hint, string? securityMessage = null)
    {
        Hint = hint;
        SecurityMessage = securityMessage;
    }

    /// <summary>The UndefinedError message raised when the value is used, e.g. "'x' is undefined".</summary>
    public string Hint { get; }

    public string? SecurityMessage { get; }

    public static JinjaUndefined Named(string name) => new($"'{name}' is undefined");

    public static JinjaUndefined Attribute(object? obj, object? name) =>
        new($"{PyValues.ObjectDescription(obj)} has no attribute {PyValues.Repr(name)}");
}

/// <summary>Python tuple (immutable sequence, repr "(a, b)").</summary>
internal sealed class JinjaTuple(object?[] items) : IReadOnlyList<object?>
{
    public object?[] Items { get; } = items;

    public int Count => Items.Length;

    public object? this[int index] => Items[index];

    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => Items.GetEnumerator();
}

/// <summary>Python range object (what <c>range()</c> returns; repr "range(a, b)").</summary>
internal sealed class JinjaRange(long start, long stop, long step) : IReadOnlyList<object?>
{
    public long Start { get; } = start;

    public long Stop { get; } = stop;

    public long Step { get; } = step;

    public int Count => (int)Math.Max(0, Step > 0 ? (Stop - Start + Step - 1) / Step : (Start - Stop - Step - 1) / -Step);

    public object? this[int index] => Start + index * Step;

    public IEnumerator<object?> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return Start + i * Step;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Python dict: insertion-ordered, keys compared with Python equality (1 == 1.0 == True).</summary>
internal sealed class JinjaDict : OrderedDictionary<object, object?>
{
    public JinjaDict() : base(PyKeyComparer.Instance) { }
}

internal sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();

    public new bool Equals(object? x, object? y) => PyValues.PyEquals(x, y);

    public int GetHashCode(object obj) => obj switch
    {
        string s => s.GetHashCode(StringComparison.Ordinal),
        bool b => b ? 1 : 0,
        long l => l.GetHashCode(),
        double d when d == Math.Floor(d) && Math.Abs(d) < 9.2e18 => ((long)d).GetHashCode(),
        double d => d.GetHashCode(),
        null => 0,
        _ => obj.GetHashCode(),
    };
}

/// <summary>The object <c>namespace(...)</c> returns: attributes assignable with <c>{% set ns.x = … %}</c>.</summary>
internal sealed class JinjaNamespace
{
    public Dictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>Anything a template can call.</summary>
internal interface IJinjaCallable
{
    object? Invoke(JinjaInterpreter interp, List<object?> args, List<(string Name, object? Value)> kwargs, Node at);
}

/// <summary>A built-in method bound to its receiver, e.g. <c>s.upper</c> or <c>d.items</c>.</summary>
internal sealed class BoundMethod(object receiver, string name) : IJinjaCallable
{
    public object Receiver { get; } = receiver;

    public string Name { get; } = name;

    public object? Invoke(JinjaInterpreter interp, List<object?> args, List<(string Name, object? Value)> kwargs, Node at) =>
        JinjaMethods.Call(interp, Receiver, Name, args, kwargs, at);
}

/// <summary>A global function (range, namespace, dict, raise_exception, strftime_now …).</summary>
internal sealed class BuiltinFunction(string name, Func<JinjaInterpreter, List<object?>, List<(string Name, object? Value)>, Node, object?> body) : IJinjaCallable
{
    public string Name { get; } = name;

    public object? Invoke(JinjaInterpreter interp, List<object?> args, List<(string Name, object? Value)> kwargs, Node at) => body(interp, args, kwargs, at);
}

/// <summary>The <c>loop</c> variable inside a for loop.</summary>
internal sealed class LoopContext
{
    public required IReadOnlyList<object?> Items { get; init; }

    public int Index0 { get; set; }

    public int Depth0 { get; init; }

    public object? LastChanged { get; set; } = LoopContext.NoValue;

    public static readonly object NoValue = new();
}

/// <summary>A one-shot Python generator (what map/select/selectattr/unique/items return): truthy, no len(),
/// iterable once.</summary>
internal sealed class JinjaGenerator(List<object?> items)
{
    private List<object?>? _items = items;

    public List<object?> Consume()
    {
        var r = _items ?? [];
        _items = null;
        return r;
    }
}
