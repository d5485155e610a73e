namespace KimiSharp.Grammar;

/// <summary>
/// A small deterministic automaton over bytes (no rule calls), for what expressions cannot say directly:
/// intersection (a pattern together with a length bound) and difference (object keys other than the declared
/// names). Built from an expression, combined, and embedded back into a grammar with <see cref="ToExpr"/>.
/// </summary>
internal sealed class ByteAutomaton
{
    /// <summary>[state * 256 + byte] → next state or -1; state 0 is the start.</summary>
    private readonly int[] _trans;
    private readonly bool[] _accepting;

    private ByteAutomaton(int[] trans, bool[] accepting)
    {
        _trans = trans;
        _accepting = accepting;
    }

    public const int MaxStates = 200_000;

    public int StateCount => _accepting.Length;

    internal int Next(int state, byte b) => _trans[state * 256 + b];

    internal bool IsAccepting(int state) => _accepting[state];

    /// <summary>Determinises an expression made of bytes only (no rule references, no special tokens).</summary>
    public static ByteAutomaton FromExpr(GrammarExpr expr)
    {
        var def = new GrammarDefinition();
        def.Root = def.AddRule("automaton", expr);
        CompiledGrammar g;
        try
        {
            g = GrammarCompiler.Compile(def);
        }
        catch (GrammarException e) when (e.Message.Contains("matches nothing", StringComparison.Ordinal))
        {
            return new ByteAutomaton(Enumerable.Repeat(-1, 256).ToArray(), [false]);
        }
        if (g.CallRule.Length > 0 || g.SpecialToken.Length > 0) throw new InvalidOperationException("a byte automaton cannot hold rule calls or special tokens");
        // Renumber the reachable states from the start.
        var id = new Dictionary<int, int> { [g.RuleStart[g.Root]] = 0 };
        var order = new List<int> { g.RuleStart[g.Root] };
        for (int i = 0; i < order.Count; i++)
        {
            int s = order[i];
            for (int c = 0; c < g.ClassCount; c++)
            {
                int t = g.Trans[s * g.ClassCount + c];
                if (t >= 0 && !id.ContainsKey(t))
                {
                    id[t] = order.Count;
                    order.Add(t);
                }
            }
        }
        var trans = new int[order.Count * 256];
        var accepting = new bool[order.Count];
        for (int i = 0; i < order.Count; i++)
        {
            int s = order[i];
            accepting[i] = (g.Flags[s] & CompiledGrammar.FlagAccepting) != 0;
            for (int b = 0; b < 256; b++)
            {
                int t = g.Trans[s * g.ClassCount + g.ClassOf[b]];
                trans[i * 256 + b] = t >= 0 ? id[t] : -1;
            }
        }
        return new ByteAutomaton(trans, accepting);
    }

    /// <summary>Strings accepted by both.</summary>
    public ByteAutomaton Intersect(ByteAutomaton other) => Product(other, (a, b) => a && b, completeLeft: false, completeRight: false);

    /// <summary>Strings accepted by this one and not by <paramref name="other"/>.</summary>
    public ByteAutomaton Except(ByteAutomaton other) => Product(other, (a, b) => a && !b, completeLeft: false, completeRight: true);

    private ByteAutomaton Product(ByteAutomaton other, Func<bool, bool, bool> accept, bool completeLeft, bool completeRight)
    {
        // A side that may be "fallen off" (-1) but still matter is kept complete with a sink, encoded as -1.
        var id = new Dictionary<(int, int), int> { [(0, 0)] = 0 };
        var order = new List<(int A, int B)> { (0, 0) };
        var trans = new List<int>();
        for (int i = 0; i < order.Count; i++)
        {
            var (a, b) = order[i];
            for (int x = 0; x < 256; x++)
            {
                int na = a < 0 ? -1 : _trans[a * 256 + x];
                int nb = b < 0 ? -1 : other._trans[b * 256 + x];
                if ((na < 0 && !completeLeft) || (nb < 0 && !completeRight))
                {
                    trans.Add(-1);
                    continue;
                }
                if (!id.TryGetValue((na, nb), out int t))
                {
                    if (order.Count >= MaxStates) throw new GrammarException($"a string constraint is too complex (more than {MaxStates} states)");
                    t = order.Count;
                    id[(na, nb)] = t;
                    order.Add((na, nb));
                }
                trans.Add(t);
            }
        }
        var accepting = order.Select(p => accept(p.A >= 0 && _accepting[p.A], p.B >= 0 && other._accepting[p.B])).ToArray();
        return new ByteAutomaton(trans.ToArray(), accepting).Trimmed();
    }

    /// <summary>Removes states that cannot reach acceptance (keeps the start, possibly dead).</summary>
    private ByteAutomaton Trimmed()
    {
        int n = StateCount;
        var useful = new bool[n];
        var reverse = new List<int>[n];
        for (int s = 0; s < n; s++)
            for (int b = 0; b < 256; b++)
                if (_trans[s * 256 + b] is var t and >= 0) (reverse[t] ??= []).Add(s);
        var work = new Stack<int>();
        for (int s = 0; s < n; s++) if (_accepting[s]) { useful[s] = true; work.Push(s); }
        while (work.Count > 0)
            if (reverse[work.Pop()] is { } preds)
                foreach (int p in preds)
                    if (!useful[p]) { useful[p] = true; work.Push(p); }
        var trans = (int[])_trans.Clone();
        for (int i = 0; i < trans.Length; i++) if (trans[i] >= 0 && !useful[trans[i]]) trans[i] = -1;
        return new ByteAutomaton(trans, _accepting);
    }

    public bool IsEmpty
    {
        get
        {
            var seen = new bool[StateCount];
            var work = new Stack<int>();
            work.Push(0);
            seen[0] = true;
            while (work.Count > 0)
            {
                int s = work.Pop();
                if (_accepting[s]) return false;
                for (int b = 0; b < 256; b++)
                    if (_trans[s * 256 + b] is var t and >= 0 && !seen[t]) { seen[t] = true; work.Push(t); }
            }
            return true;
        }
    }

    /// <summary>This automaton as a grammar expression (embedded state for state by the compiler).</summary>
    public GrammarExpr ToExpr() => IsEmpty ? GrammarExpr.Nothing : new AutomatonExpr(this);
}

internal sealed class AutomatonExpr(ByteAutomaton automaton) : GrammarExpr
{
    public ByteAutomaton Automaton { get; } = automaton;
}
