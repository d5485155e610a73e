using System.Runtime.CompilerServices;

namespace KimiSharp.Grammar;

/// <summary>
/// Thompson-style automaton the compiler builds from <see cref="GrammarExpr"/>s: edges are ε, a byte range, a rule
/// call (return to the edge's target) or a special token. Built in continuation-passing style: <see cref="Emit"/>
/// returns the entry state of "expression, then <c>next</c>", memoised per (expression, next) so shared
/// sub-expressions are emitted once.
/// </summary>
internal sealed class Nfa
{
    public const byte Eps = 0, Bytes = 1, Call = 2, Special = 3;

    private int[] _first = new int[256];
    private byte[] _kind = new byte[256];
    private int[] _a = new int[256], _b = new int[256], _to = new int[256], _next = new int[256];
    private int _edges;
    private readonly Dictionary<(GrammarExpr, int), int> _memo = new(new ExprNextComparer());

    public int StateCount { get; private set; }
    public int EdgeCount => _edges;

    /// <summary>A cap on states, so a hostile schema or grammar fails cleanly instead of exhausting memory.</summary>
    public int MaxStates { get; init; } = 2_000_000;

    public int NewState()
    {
        if (StateCount >= MaxStates)
            throw new GrammarException($"the grammar is too large (more than {MaxStates} automaton states)");
        if (StateCount == _first.Length) Array.Resize(ref _first, _first.Length * 2);
        _first[StateCount] = -1;
        return StateCount++;
    }

    public void AddEdge(int from, byte kind, int a, int b, int to)
    {
        if (_edges == _kind.Length)
        {
            int n = _edges * 2;
            Array.Resize(ref _kind, n);
            Array.Resize(ref _a, n);
            Array.Resize(ref _b, n);
            Array.Resize(ref _to, n);
            Array.Resize(ref _next, n);
        }
        _kind[_edges] = kind;
        _a[_edges] = a;
        _b[_edges] = b;
        _to[_edges] = to;
        _next[_edges] = _first[from];
        _first[from] = _edges++;
    }

    public int FirstEdge(int state) => _first[state];
    public int NextEdge(int edge) => _next[edge];
    public byte Kind(int edge) => _kind[edge];
    public int A(int edge) => _a[edge];
    public int B(int edge) => _b[edge];
    public int To(int edge) => _to[edge];

    /// <summary>Entry state of the language L(<paramref name="expr"/>)·L(<paramref name="next"/>).</summary>
    public int Emit(GrammarExpr expr, int next)
    {
        if (expr is SeqExpr { Items.Length: 0 }) return next;
        if (_memo.TryGetValue((expr, next), out int entry)) return entry;
        switch (expr)
        {
            case ByteRangeExpr r:
                entry = NewState();
                AddEdge(entry, Bytes, r.Lo, r.Hi, next);
                break;
            case SeqExpr s:
                entry = next;
                for (int i = s.Items.Length - 1; i >= 0; i--) entry = Emit(s.Items[i], entry);
                break;
            case AltExpr a:
                entry = NewState(); // no edges when empty: matches nothing
                foreach (var item in a.Items) AddEdge(entry, Eps, 0, 0, Emit(item, next));
                break;
            case RepeatExpr r:
                entry = EmitRepeat(r, next);
                break;
            case RuleRefExpr call:
                entry = NewState();
                AddEdge(entry, Call, call.RuleId, 0, next);
                break;
            case AutomatonExpr automaton:
                entry = EmitAutomaton(automaton.Automaton, next);
                break;
            case SpecialTokenExpr special:
                entry = NewState();
                AddEdge(entry, Special, special.TokenId, 0, next);
                break;
            default:
                throw new InvalidOperationException($"unknown expression {expr.GetType().Name}");
        }
        _memo[(expr, next)] = entry;
        return entry;
    }

    private int EmitAutomaton(ByteAutomaton automaton, int next)
    {
        var states = new int[automaton.StateCount];
        for (int i = 0; i < states.Length; i++) states[i] = NewState();
        for (int i = 0; i < states.Length; i++)
        {
            if (automaton.IsAccepting(i)) AddEdge(states[i], Eps, 0, 0, next);
            // One edge per run of bytes with the same target.
            int b = 0;
            while (b < 256)
            {
                int t = automaton.Next(i, (byte)b);
                int end = b;
                while (end + 1 < 256 && automaton.Next(i, (byte)(end + 1)) == t) end++;
                if (t >= 0) AddEdge(states[i], Bytes, b, end, states[t]);
                b = end + 1;
            }
        }
        return states[0];
    }

    private int EmitRepeat(RepeatExpr r, int next)
    {
        int tail;
        if (r.Max < 0)
        {
            tail = NewState(); // loop: stop, or one more
            AddEdge(tail, Eps, 0, 0, next);
            AddEdge(tail, Eps, 0, 0, Emit(r.Inner, tail));
        }
        else
        {
            // "up to i more": stop, or one more and then up to i-1 more.
            tail = next;
            for (int i = 0; i < r.Max - r.Min; i++)
            {
                int s = NewState();
                AddEdge(s, Eps, 0, 0, next);
                AddEdge(s, Eps, 0, 0, Emit(r.Inner, tail));
                tail = s;
            }
        }
        for (int i = 0; i < r.Min; i++) tail = Emit(r.Inner, tail);
        return tail;
    }

    private sealed class ExprNextComparer : IEqualityComparer<(GrammarExpr, int)>
    {
        public bool Equals((GrammarExpr, int) x, (GrammarExpr, int) y) => ReferenceEquals(x.Item1, y.Item1) && x.Item2 == y.Item2;

        public int GetHashCode((GrammarExpr, int) obj) => RuntimeHelpers.GetHashCode(obj.Item1) * 31 + obj.Item2;
    }
}
