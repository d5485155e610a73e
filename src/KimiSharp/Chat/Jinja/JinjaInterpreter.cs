using System.Text;

namespace KimiSharp.Chat.Jinja;

/// <summary>Executes a parsed template with Python/Jinja2 semantics inside a sandbox: only the values given in
/// the context and the built-ins below are reachable, loops and macro recursion are bounded.</summary>
internal sealed class JinjaInterpreter
{
    private enum Flow { Normal, Break, Continue }

    private readonly JinjaOptions _options;
    private long _iterations;
    private int _callDepth;

    public JinjaInterpreter(JinjaOptions options) => _options = options;

    public JinjaOptions Options => _options;

    public string Render(IReadOnlyList<Stmt> body, IReadOnlyDictionary<string, object?> context)
    {
        var globals = new JinjaScope(null);
        foreach (var (name, fn) in JinjaGlobals.Create(this)) globals.Set(name, fn);
        var contextScope = new JinjaScope(globals);
        foreach (var kv in context) contextScope.Set(kv.Key, PyValues.FromClr(kv.Value));
        var root = EnterFrame(body, contextScope);
        var sb = new StringBuilder();
        ExecBody(body, root, sb);
        return sb.ToString();
    }

    /// <summary>A new frame for <paramref name="body"/>: names Jinja's compiler treats as frame-locals that start
    /// undefined are declared up front (see <see cref="JinjaFrameAnalysis"/>).</summary>
    internal static JinjaScope EnterFrame(IReadOnlyList<Stmt> body, JinjaScope parent)
    {
        var scope = new JinjaScope(parent);
        foreach (var name in JinjaFrameAnalysis.UndefinedLocals(body)) scope.Set(name, JinjaUndefined.Named(name));
        return scope;
    }

    internal void EnterCall(Node at)
    {
        if (++_callDepth > _options.MaxCallDepth)
        {
            _callDepth--;
            throw new TemplateException($"maximum macro call depth ({_options.MaxCallDepth}) exceeded", at.Line, at.Column);
        }
    }

    internal void ExitCall() => _callDepth--;

    internal void CheckLength(long length, Node at)
    {
        if (length > _options.MaxOutputLength)
            throw new TemplateException($"rendered text exceeds the limit of {_options.MaxOutputLength} characters", at.Line, at.Column);
    }

    private void Append(StringBuilder sb, string text, Node at)
    {
        CheckLength((long)sb.Length + text.Length, at);
        sb.Append(text);
    }

    internal void ExecBody(IReadOnlyList<Stmt> body, JinjaScope scope, StringBuilder sb)
    {
        var flow = Exec(body, scope, sb);
        if (flow != Flow.Normal) throw new TemplateException("break/continue outside of a loop", 0, 0);
    }

    private Flow Exec(IReadOnlyList<Stmt> body, JinjaScope scope, StringBuilder sb)
    {
        foreach (var stmt in body)
        {
            var flow = ExecOne(stmt, scope, sb);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow ExecOne(Stmt stmt, JinjaScope scope, StringBuilder sb)
    {
        try
        {
            switch (stmt)
            {
                case TextStmt t:
                    Append(sb, t.Text, t);
                    return Flow.Normal;
                case OutputStmt o:
                    Append(sb, PyValues.ToStr(Eval(o.Value, scope)), o);
                    return Flow.Normal;
                case IfStmt i:
                    foreach (var (test, branch) in i.Branches)
                    {
                        if (PyValues.IsTruthy(Eval(test, scope))) return Exec(branch, scope, sb);
                    }
                    return Exec(i.Else, scope, sb);
                case ForStmt f:
                    ExecFor(f, scope, sb);
                    return Flow.Normal;
                case SetStmt s:
                    Assign(s.Target, Eval(s.Value, scope), scope, s);
                    return Flow.Normal;
                case SetBlockStmt sb2:
                    {
                        var inner = new StringBuilder();
                        ExecBody(sb2.Body, EnterFrame(sb2.Body, scope), inner);
                        object? value = inner.ToString();
                        foreach (var filter in sb2.Filters) value = ApplyFilter(filter, value, scope);
                        Assign(sb2.Target, value, scope, sb2);
                        return Flow.Normal;
                    }
                case MacroStmt m:
                    scope.Set(m.Name, new JinjaMacro(m.Name, m.Params, m.Body, scope));
                    return Flow.Normal;
                case CallBlockStmt c:
                    {
                        var caller = new JinjaMacro("caller", c.CallerParams, c.Body, scope);
                        var target = Eval(c.Call.Target, scope);
                        var (args, kwargs) = EvalArgs(c.Call.Args, scope);
                        kwargs.Add(("caller", caller));
                        Append(sb, PyValues.ToStr(CallValue(target, args, kwargs, c)), c);
                        return Flow.Normal;
                    }
                case FilterBlockStmt fb:
                    {
                        var inner = new StringBuilder();
                        ExecBody(fb.Body, EnterFrame(fb.Body, scope), inner);
                        object? value = inner.ToString();
                        foreach (var filter in fb.Filters) value = ApplyFilter(filter, value, scope);
                        Append(sb, PyValues.ToStr(value), fb);
                        return Flow.Normal;
                    }
                case WithStmt w:
                    {
                        var inner = EnterFrame(w.Body, scope);
                        foreach (var (target, value) in w.Assignments) Assign(target, Eval(value, scope), inner, w);
                        return Exec(w.Body, inner, sb);
                    }
                case BreakStmt:
                    return Flow.Break;
                case ContinueStmt:
                    return Flow.Continue;
                default:
                    throw new TemplateException($"unsupported statement {stmt.GetType().Name}", stmt.Line, stmt.Column);
            }
        }
        catch (Exception ex) when (ex is not TemplateException)
        {
            throw new TemplateException(ex.Message, stmt.Line, stmt.Column, ex);
        }
    }

    private void ExecFor(ForStmt f, JinjaScope scope, StringBuilder sb)
    {
        var source = Iterate(Eval(f.Iter, scope), f.Iter);
        List<object?> items;
        if (f.Filter is null)
        {
            items = source;
        }
        else
        {
            items = [];
            foreach (var item in source)
            {
                CountIteration(f);
                var probe = new JinjaScope(scope);
                Assign(f.Target, item, probe, f);
                if (PyValues.IsTruthy(Eval(f.Filter, probe))) items.Add(item);
            }
        }
        if (items.Count == 0)
        {
            Exec(f.Else, EnterFrame(f.Else, scope), sb);
            return;
        }
        var loop = new LoopContext { Items = items };
        for (int i = 0; i < items.Count; i++)
        {
            CountIteration(f);
            loop.Index0 = i;
            var iterScope = EnterFrame(f.Body, scope);
            iterScope.Set("loop", loop);
            Assign(f.Target, items[i], iterScope, f);
            var flow = Exec(f.Body, iterScope, sb);
            if (flow == Flow.Break) break;
        }
    }

    private void CountIteration(Node at)
    {
        if (++_iterations > _options.MaxLoopIterations)
            throw new TemplateException($"loop iteration limit ({_options.MaxLoopIterations}) exceeded", at.Line, at.Column);
    }

    /// <summary>Python iteration: lists, tuples, ranges, dict keys, string code points; Undefined is empty.</summary>
    internal List<object?> Iterate(object? value, Node at)
    {
        switch (value)
        {
            case JinjaUndefined: return [];
            case List<object?> l: return [.. l];
            case JinjaGenerator g: return g.Consume();
            case JinjaDict d: return [.. d.Keys];
            case JinjaTuple or JinjaRange:
                {
                    var list = (IReadOnlyList<object?>)value;
                    if (list.Count > _options.MaxLoopIterations) throw new TemplateException("sequence too long", at.Line, at.Column);
                    return [.. list];
                }
            case string s:
                {
                    var chars = new List<object?>(s.Length);
                    for (int i = 0; i < s.Length;)
                    {
                        PyValues.CodePointAt(s, i, out int w);
                        chars.Add(s.Substring(i, w));
                        i += w;
                    }
                    return chars;
                }
            default:
                throw new InvalidOperationException($"'{PyValues.TypeName(value)}' object is not iterable");
        }
    }

    private void Assign(Expr target, object? value, JinjaScope scope, Node at)
    {
        switch (target)
        {
            case NameExpr n:
                scope.Set(n.Name, value);
                break;
            case TupleExpr t:
                {
                    var items = Iterate(value, at);
                    if (items.Count != t.Items.Count)
                        throw new InvalidOperationException(items.Count > t.Items.Count
                            ? $"too many values to unpack (expected {t.Items.Count})"
                            : $"not enough values to unpack (expected {t.Items.Count}, got {items.Count})");
                    for (int i = 0; i < items.Count; i++) Assign(t.Items[i], items[i], scope, at);
                    break;
                }
            case GetAttrExpr { Target: NameExpr ns } ga:
                {
                    if (!scope.TryGet(ns.Name, out var obj) || obj is not JinjaNamespace space)
                        throw new TemplateException("cannot assign attribute on non-namespace object", ga.Line, ga.Column);
                    space.Attributes[ga.Name] = value;
                    break;
                }
            default:
                throw new TemplateException("can't assign to this expression", target.Line, target.Column);
        }
    }

    internal object? Eval(Expr e, JinjaScope scope)
    {
        try
        {
            return EvalCore(e, scope);
        }
        catch (Exception ex) when (ex is not TemplateException)
        {
            throw new TemplateException(ex.Message, e.Line, e.Column, ex);
        }
    }

    private static TemplateException Undefined(JinjaUndefined u, Node at) =>
        new(u.SecurityMessage ?? u.Hint, at.Line, at.Column);

    private object? EvalCore(Expr e, JinjaScope scope)
    {
        switch (e)
        {
            case LiteralExpr l:
                return l.Value;
            case NameExpr n:
                return scope.TryGet(n.Name, out var v) ? v : JinjaUndefined.Named(n.Name);
            case ListExpr l:
                return l.Items.Select(x => Eval(x, scope)).ToList();
            case TupleExpr t:
                return new JinjaTuple([.. t.Items.Select(x => Eval(x, scope))]);
            case DictExpr d:
                {
                    var dict = new JinjaDict();
                    foreach (var (k, val) in d.Items)
                    {
                        var key = Eval(k, scope);
                        if (key is null || key is List<object?> || key is JinjaDict || key is JinjaUndefined)
                            throw new InvalidOperationException($"unhashable type: '{PyValues.TypeName(key)}'");
                        dict[key] = Eval(val, scope);
                    }
                    return dict;
                }
            case GetAttrExpr ga:
                {
                    var obj = Eval(ga.Target, scope);
                    if (obj is JinjaUndefined u) throw Undefined(u, ga);
                    return JinjaMethods.GetAttr(this, obj, ga.Name);
                }
            case GetItemExpr gi:
                {
                    var obj = Eval(gi.Target, scope);
                    if (obj is JinjaUndefined u) throw Undefined(u, gi);
                    if (gi.Index is SliceExpr s)
                    {
                        return JinjaMethods.Slice(obj,
                            s.Start is null ? null : Eval(s.Start, scope),
                            s.Stop is null ? null : Eval(s.Stop, scope),
                            s.Step is null ? null : Eval(s.Step, scope));
                    }
                    return JinjaMethods.GetItem(this, obj, Eval(gi.Index, scope));
                }
            case CallExpr c:
                {
                    var target = Eval(c.Target, scope);
                    var (args, kwargs) = EvalArgs(c.Args, scope);
                    return CallValue(target, args, kwargs, c);
                }
            case FilterExpr f:
                return ApplyFilter(f, f.Input is null ? null : Eval(f.Input, scope), scope);
            case TestExpr t:
                {
                    var value = Eval(t.Input, scope);
                    var (args, kwargs) = EvalArgs(t.Args, scope);
                    return JinjaTests.Apply(this, t.Name, value, args, kwargs);
                }
            case UnaryExpr u:
                {
                    var value = Eval(u.Operand, scope);
                    if (u.Op == "not") return !PyValues.IsTruthy(value);
                    if (value is JinjaUndefined und) throw Undefined(und, u);
                    return JinjaOperators.Unary(u.Op, value);
                }
            case BinaryExpr b when b.Op == "and":
                {
                    var left = Eval(b.Left, scope);
                    return PyValues.IsTruthy(left) ? Eval(b.Right, scope) : left;
                }
            case BinaryExpr b when b.Op == "or":
                {
                    var left = Eval(b.Left, scope);
                    return PyValues.IsTruthy(left) ? left : Eval(b.Right, scope);
                }
            case BinaryExpr b:
                {
                    var left = Eval(b.Left, scope);
                    var right = Eval(b.Right, scope);
                    if (left is JinjaUndefined ul) throw Undefined(ul, b);
                    if (right is JinjaUndefined ur) throw Undefined(ur, b);
                    var result = JinjaOperators.Binary(b.Op, left, right);
                    if (result is string s) CheckLength(s.Length, b);
                    return result;
                }
            case ConcatExpr c:
                {
                    var sb = new StringBuilder();
                    foreach (var part in c.Parts)
                    {
                        sb.Append(PyValues.ToStr(Eval(part, scope)));
                        CheckLength(sb.Length, c);
                    }
                    return sb.ToString();
                }
            case CompareExpr c:
                {
                    var left = Eval(c.First, scope);
                    foreach (var (op, rightExpr) in c.Rest)
                    {
                        var right = Eval(rightExpr, scope);
                        if (!JinjaOperators.Compare(op, left, right)) return false;
                        left = right;
                    }
                    return true;
                }
            case CondExpr c:
                if (PyValues.IsTruthy(Eval(c.Test, scope))) return Eval(c.Then, scope);
                return c.Else is null
                    ? new JinjaUndefined($"the inline if-expression on line {c.Line} evaluated to false and no else section was defined.")
                    : Eval(c.Else, scope);
            case SliceExpr:
                throw new InvalidOperationException("slice outside of a subscript");
            default:
                throw new InvalidOperationException($"unsupported expression {e.GetType().Name}");
        }
    }

    private (List<object?> Args, List<(string, object?)> Kwargs) EvalArgs(CallArgs a, JinjaScope scope)
    {
        var args = new List<object?>(a.Positional.Count);
        foreach (var p in a.Positional) args.Add(Eval(p, scope));
        if (a.StarArgs != null) args.AddRange(Iterate(Eval(a.StarArgs, scope), a.StarArgs));
        var kwargs = new List<(string, object?)>(a.Keyword.Count);
        foreach (var (n, val) in a.Keyword) kwargs.Add((n, Eval(val, scope)));
        if (a.StarKwargs != null)
        {
            if (Eval(a.StarKwargs, scope) is not JinjaDict d) throw new InvalidOperationException("argument after ** must be a mapping");
            foreach (var kv in d) kwargs.Add((PyValues.ToStr(kv.Key), kv.Value));
        }
        return (args, kwargs);
    }

    internal object? CallValue(object? target, List<object?> args, List<(string Name, object? Value)> kwargs, Node at)
    {
        return target switch
        {
            IJinjaCallable c => c.Invoke(this, args, kwargs, at),
            JinjaUndefined u => throw Undefined(u, at),
            _ => throw new InvalidOperationException($"'{PyValues.TypeName(target)}' object is not callable"),
        };
    }

    private object? ApplyFilter(FilterExpr f, object? input, JinjaScope scope)
    {
        var (args, kwargs) = EvalArgs(f.Args, scope);
        try
        {
            return JinjaFilters.Apply(this, f.Name, input, args, kwargs, f);
        }
        catch (Exception ex) when (ex is not TemplateException)
        {
            throw new TemplateException(ex.Message, f.Line, f.Column, ex);
        }
    }
}
