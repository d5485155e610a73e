using System.Text;

namespace KimiSharp.Chat.Jinja;

/// <summary>A macro (or the <c>caller</c> of a call block): parameters, body and the scope it was defined in.</summary>
internal sealed class JinjaMacro(string name, IReadOnlyList<MacroParam> parameters, IReadOnlyList<Stmt> body, JinjaScope definitionScope) : IJinjaCallable
{
    public string Name { get; } = name;

    public object? Invoke(JinjaInterpreter interp, List<object?> args, List<(string Name, object? Value)> kwargs, Node at)
    {
        var scope = JinjaInterpreter.EnterFrame(body, definitionScope);
        var extra = new List<object?>();
        var bound = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            if (i < parameters.Count)
            {
                scope.Set(parameters[i].Name, args[i]);
                bound.Add(parameters[i].Name);
            }
            else extra.Add(args[i]);
        }
        var extraKw = new JinjaDict();
        object? caller = null;
        foreach (var (n, v) in kwargs)
        {
            if (n == "caller") { caller = v; continue; }
            int idx = -1;
            for (int p = 0; p < parameters.Count; p++)
            {
                if (parameters[p].Name == n) { idx = p; break; }
            }
            if (idx < 0) { extraKw[n] = v; continue; }
            if (idx < args.Count) throw new InvalidOperationException($"macro '{Name}' got multiple values for argument '{n}'");
            scope.Set(n, v);
            bound.Add(n);
        }
        for (int p = 0; p < parameters.Count; p++)
        {
            if (bound.Contains(parameters[p].Name)) continue;
            scope.Set(parameters[p].Name, parameters[p].Default is { } def
                ? interp.Eval(def, scope)
                : new JinjaUndefined($"parameter '{parameters[p].Name}' was not provided"));
        }
        scope.Set("varargs", new JinjaTuple([.. extra]));
        scope.Set("kwargs", extraKw);
        if (caller != null) scope.Set("caller", caller);
        var sb = new StringBuilder();
        interp.EnterCall(at);
        try
        {
            interp.ExecBody(body, scope, sb);
        }
        finally
        {
            interp.ExitCall();
        }
        return sb.ToString();
    }
}

/// <summary>Variables of one frame; lookups walk out to the parent frames.</summary>
internal sealed class JinjaScope(JinjaScope? parent)
{
    private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);

    public JinjaScope? Parent { get; } = parent;

    public void Set(string name, object? value) => _vars[name] = value;

    public bool HasLocal(string name) => _vars.ContainsKey(name);

    public bool TryGet(string name, out object? value)
    {
        for (var s = this; s != null; s = s.Parent)
        {
            if (s._vars.TryGetValue(name, out value)) return true;
        }
        value = null;
        return false;
    }
}
