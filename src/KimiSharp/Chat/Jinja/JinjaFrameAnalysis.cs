using System.Runtime.CompilerServices;

namespace KimiSharp.Chat.Jinja;

/// <summary>
/// Reproduces Jinja2's compile-time symbol tracking (idtracking.py) closely enough for its visible effect: in a
/// frame (template body, loop body, macro body, block set …) a name whose first reference is an unconditional
/// store is a frame-local that starts undefined, so nested frames that read it before the assignment see
/// Undefined rather than the context value. Names first stored inside if-branches resolve from the outer scope.
/// </summary>
internal static class JinjaFrameAnalysis
{
    private static readonly ConditionalWeakTable<IReadOnlyList<Stmt>, string[]> Results = [];

    /// <summary>Names to declare as Undefined when entering the frame of <paramref name="body"/>.</summary>
    public static string[] UndefinedLocals(IReadOnlyList<Stmt> body) => Results.TryGetValue(body, out var names) ? names : [];

    private enum Ref { Resolve, Undefined }

    /// <summary>Analyses the template body and every nested frame (top-down: a store in a frame whose enclosing
    /// frames reference the name aliases the outer variable, as Jinja's Symbols.store does).</summary>
    public static void AnalyzeTemplate(IReadOnlyList<Stmt> body) => AnalyzeFrame(body, [], new HashSet<string>(StringComparer.Ordinal));

    private static void AnalyzeFrame(IReadOnlyList<Stmt> body, IEnumerable<string> declaredFirst, HashSet<string> outerRefs)
    {
        var refs = new Dictionary<string, Ref>(StringComparer.Ordinal);
        var stores = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in declaredFirst)
        {
            refs[name] = Ref.Resolve;
            stores.Add(name);
        }
        _outer = outerRefs;
        VisitAll(body, refs, stores);
        _outer = null;
        Results.AddOrUpdate(body, refs.Where(kv => kv.Value == Ref.Undefined).Select(kv => kv.Key).ToArray());
        var childOuter = new HashSet<string>(outerRefs, StringComparer.Ordinal);
        childOuter.UnionWith(refs.Keys);
        foreach (var (child, first) in ChildFrames(body)) AnalyzeFrame(child, first, childOuter);
    }

    [ThreadStatic]
    private static HashSet<string>? _outer;

    /// <summary>Frames nested directly in this frame (also those inside if-branches, which share the frame).</summary>
    private static IEnumerable<(IReadOnlyList<Stmt> Body, IEnumerable<string> DeclaredFirst)> ChildFrames(IReadOnlyList<Stmt> body)
    {
        foreach (var s in body)
        {
            switch (s)
            {
                case ForStmt f:
                    yield return (f.Body, TargetNames(f.Target).Append("loop"));
                    if (f.Else.Count > 0) yield return (f.Else, []);
                    break;
                case MacroStmt m:
                    yield return (m.Body, m.Params.Select(p => p.Name).Concat(["varargs", "kwargs", "caller"]));
                    break;
                case CallBlockStmt c:
                    yield return (c.Body, c.CallerParams.Select(p => p.Name).Concat(["varargs", "kwargs"]));
                    break;
                case SetBlockStmt sb:
                    yield return (sb.Body, []);
                    break;
                case FilterBlockStmt fb:
                    yield return (fb.Body, []);
                    break;
                case WithStmt w:
                    yield return (w.Body, w.Assignments.SelectMany(a => TargetNames(a.Target)));
                    break;
                case IfStmt i:
                    foreach (var (_, branch) in i.Branches)
                        foreach (var child in ChildFrames(branch)) yield return child;
                    foreach (var child in ChildFrames(i.Else)) yield return child;
                    break;
            }
        }
    }

    private static IEnumerable<string> TargetNames(Expr target) => target switch
    {
        NameExpr n => [n.Name],
        TupleExpr t => t.Items.SelectMany(TargetNames),
        _ => [],
    };

    private static void VisitAll(IEnumerable<Stmt> body, Dictionary<string, Ref> refs, HashSet<string> stores)
    {
        foreach (var s in body) Visit(s, refs, stores);
    }

    private static void Load(string name, Dictionary<string, Ref> refs) => refs.TryAdd(name, Ref.Resolve);

    private static void Store(string name, Dictionary<string, Ref> refs, HashSet<string> stores)
    {
        refs.TryAdd(name, _outer != null && _outer.Contains(name) ? Ref.Resolve : Ref.Undefined);
        stores.Add(name);
    }

    private static void StoreTarget(Expr target, Dictionary<string, Ref> refs, HashSet<string> stores)
    {
        switch (target)
        {
            case NameExpr n: Store(n.Name, refs, stores); break;
            case TupleExpr t: foreach (var i in t.Items) StoreTarget(i, refs, stores); break;
            case GetAttrExpr { Target: NameExpr ns }: Load(ns.Name, refs); break;
        }
    }

    private static void Visit(Stmt s, Dictionary<string, Ref> refs, HashSet<string> stores)
    {
        switch (s)
        {
            case OutputStmt o: Loads(o.Value, refs); break;
            case SetStmt set: Loads(set.Value, refs); StoreTarget(set.Target, refs, stores); break;
            case SetBlockStmt sb: StoreTarget(sb.Target, refs, stores); break;
            case MacroStmt m: Store(m.Name, refs, stores); break;
            case CallBlockStmt c: Loads(c.Call, refs); break;
            case FilterBlockStmt fb: foreach (var f in fb.Filters) Loads(f, refs); break;
            case WithStmt w: foreach (var (_, value) in w.Assignments) Loads(value, refs); break;
            case ForStmt f: Loads(f.Iter, refs); break;
            case IfStmt i: VisitIf(i.Branches[0].Test, i.Branches[0].Body, i.Branches.Skip(1), i.Else, refs, stores); break;
        }
    }

    /// <summary>Jinja's visit_If + branch_update: the body, all elifs (each an If of its own, in one table) and
    /// the else are analysed on copies of the frame's table.</summary>
    private static void VisitIf(Expr test, IReadOnlyList<Stmt> body, IEnumerable<(Expr Test, IReadOnlyList<Stmt> Body)> elifs, IReadOnlyList<Stmt> elseBody,
        Dictionary<string, Ref> refs, HashSet<string> stores)
    {
        Loads(test, refs);
        var bodyRefs = new Dictionary<string, Ref>(refs);
        var bodyStores = new HashSet<string>(stores);
        VisitAll(body, bodyRefs, bodyStores);
        var elifRefs = new Dictionary<string, Ref>(refs);
        var elifStores = new HashSet<string>(stores);
        foreach (var (elifTest, elifBody) in elifs) VisitIf(elifTest, elifBody, [], [], elifRefs, elifStores);
        var elseRefs = new Dictionary<string, Ref>(refs);
        var elseStores = new HashSet<string>(stores);
        VisitAll(elseBody, elseRefs, elseStores);

        // Jinja 3.1 branch_update: every name newly stored in a branch resolves from outside at frame start.
        var newStores = new HashSet<string>(bodyStores, StringComparer.Ordinal);
        newStores.UnionWith(elifStores);
        newStores.UnionWith(elseStores);
        newStores.ExceptWith(stores);
        foreach (var table in new[] { bodyRefs, elifRefs, elseRefs })
        {
            foreach (var kv in table) refs[kv.Key] = kv.Value;
        }
        stores.UnionWith(newStores);
        foreach (var name in newStores) refs[name] = Ref.Resolve;
    }

    private static void Loads(Expr? e, Dictionary<string, Ref> refs)
    {
        switch (e)
        {
            case null: return;
            case NameExpr n: Load(n.Name, refs); return;
            case LiteralExpr: return;
            case ListExpr l: foreach (var i in l.Items) Loads(i, refs); return;
            case TupleExpr t: foreach (var i in t.Items) Loads(i, refs); return;
            case DictExpr d: foreach (var (k, v) in d.Items) { Loads(k, refs); Loads(v, refs); } return;
            case GetAttrExpr g: Loads(g.Target, refs); return;
            case GetItemExpr g: Loads(g.Target, refs); Loads(g.Index, refs); return;
            case SliceExpr s: Loads(s.Start, refs); Loads(s.Stop, refs); Loads(s.Step, refs); return;
            case CallExpr c: Loads(c.Target, refs); ArgLoads(c.Args, refs); return;
            case FilterExpr f: Loads(f.Input, refs); ArgLoads(f.Args, refs); return;
            case TestExpr t: Loads(t.Input, refs); ArgLoads(t.Args, refs); return;
            case UnaryExpr u: Loads(u.Operand, refs); return;
            case BinaryExpr b: Loads(b.Left, refs); Loads(b.Right, refs); return;
            case ConcatExpr c: foreach (var p in c.Parts) Loads(p, refs); return;
            case CompareExpr c: Loads(c.First, refs); foreach (var (_, r) in c.Rest) Loads(r, refs); return;
            case CondExpr c: Loads(c.Test, refs); Loads(c.Then, refs); Loads(c.Else, refs); return;
        }
    }

    private static void ArgLoads(CallArgs a, Dictionary<string, Ref> refs)
    {
        foreach (var p in a.Positional) Loads(p, refs);
        foreach (var (_, v) in a.Keyword) Loads(v, refs);
        Loads(a.StarArgs, refs);
        Loads(a.StarKwargs, refs);
    }
}
