namespace KimiSharp.Grammar;

/// <summary>
/// <see cref="GrammarDefinition"/> → <see cref="CompiledGrammar"/>: one NFA for all rules, then a subset
/// construction per rule over the byte classes (the coarsest partition of 0–255 that every byte range of the
/// grammar respects), then trimming of states that cannot reach an accepting end. Rejects left recursion (like
/// llama.cpp) and grammars that match nothing.
/// </summary>
public static class GrammarCompiler
{
    /// <summary>A cap on deterministic states (a pathological regex could otherwise blow up exponentially).</summary>
    public const int MaxDfaStates = 500_000;

    public static CompiledGrammar Compile(GrammarDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        int rules = definition.RuleCount;
        if (rules == 0) throw new GrammarException("the grammar has no rules");

        var nfa = new Nfa();
        var entry = new int[rules];
        var accept = new int[rules];
        for (int r = 0; r < rules; r++)
        {
            var body = definition.RuleBody(r) ?? throw new GrammarException($"rule '{definition.RuleName(r)}' is referenced but never defined");
            accept[r] = nfa.NewState();
            entry[r] = nfa.Emit(body, accept[r]);
        }
        for (int e = 0; e < nfa.EdgeCount; e++)
            if (nfa.Kind(e) == Nfa.Call && (uint)nfa.A(e) >= (uint)rules)
                throw new GrammarException($"a rule reference points at rule {nfa.A(e)}, which does not exist");

        var (classCount, classOf) = ByteClasses(nfa);
        var dfa = new DfaBuilder(nfa, classCount, classOf);
        var ruleStart = new int[rules];
        for (int r = 0; r < rules; r++) ruleStart[r] = dfa.BuildRule(r, entry[r], accept[r]);
        var names = Enumerable.Range(0, rules).Select(definition.RuleName).ToArray();
        return dfa.Finish(ruleStart, names, definition.Root);
    }

    private static (int Count, byte[] ClassOf) ByteClasses(Nfa nfa)
    {
        Span<bool> boundary = stackalloc bool[257];
        for (int e = 0; e < nfa.EdgeCount; e++)
        {
            if (nfa.Kind(e) != Nfa.Bytes) continue;
            boundary[nfa.A(e)] = true;
            boundary[nfa.B(e) + 1] = true;
        }
        var classOf = new byte[256];
        int c = 0;
        for (int b = 0; b < 256; b++)
        {
            if (b > 0 && boundary[b]) c++;
            classOf[b] = (byte)c;
        }
        return (c + 1, classOf);
    }

    /// <summary>Subset construction, trimming and packing.</summary>
    private sealed class DfaBuilder(Nfa nfa, int classCount, byte[] classOf)
    {
        private readonly List<int> _trans = [];
        private readonly List<bool> _accepting = [];
        private readonly List<int> _ruleOf = [];
        private readonly List<(int State, int Rule, int Return)> _calls = [];
        private readonly List<(int State, int Token, int Target)> _specials = [];
        private readonly Dictionary<int[], int> _byRawTargets = new(IntArrayComparer.Instance);
        private readonly Dictionary<int[], int> _bySet = new(IntArrayComparer.Instance);
        private readonly List<int[]> _sets = [];
        private readonly Queue<int> _work = new();
        private int[] _mark = new int[Math.Max(16, nfa.StateCount)];
        private int _stamp;
        private readonly List<int> _stack = [];
        private readonly List<int>[] _buckets = Enumerable.Range(0, classCount).Select(_ => new List<int>()).ToArray();
        private int _acceptState;
        private int _rule;

        public int BuildRule(int rule, int entry, int accept)
        {
            _rule = rule;
            _acceptState = accept;
            _byRawTargets.Clear();
            _bySet.Clear();
            int start = StateFor([entry]);
            while (_work.Count > 0) Expand(_work.Dequeue());
            return start;
        }

        private int StateFor(int[] rawTargets)
        {
            if (_byRawTargets.TryGetValue(rawTargets, out int id)) return id;
            int[] set = Closure(rawTargets);
            if (!_bySet.TryGetValue(set, out id))
            {
                id = _accepting.Count;
                if (id >= MaxDfaStates)
                    throw new GrammarException($"the grammar is too large (more than {MaxDfaStates} deterministic states)");
                _bySet[set] = id;
                _sets.Add(set);
                _accepting.Add(Array.IndexOf(set, _acceptState) >= 0);
                _ruleOf.Add(_rule);
                for (int c = 0; c < classCount; c++) _trans.Add(-1);
                _work.Enqueue(id);
            }
            _byRawTargets[rawTargets] = id;
            return id;
        }

        /// <summary>The ε-closure, keeping only states with consuming edges and the rule's accept state (sorted).</summary>
        private int[] Closure(int[] from)
        {
            if (++_stamp == int.MaxValue) { Array.Clear(_mark); _stamp = 1; }
            var result = new List<int>();
            _stack.Clear();
            foreach (int s in from) Push(s);
            while (_stack.Count > 0)
            {
                int s = _stack[^1];
                _stack.RemoveAt(_stack.Count - 1);
                bool important = s == _acceptState;
                for (int e = nfa.FirstEdge(s); e >= 0; e = nfa.NextEdge(e))
                {
                    if (nfa.Kind(e) == Nfa.Eps) Push(nfa.To(e));
                    else important = true;
                }
                if (important) result.Add(s);
            }
            result.Sort();
            return result.ToArray();
        }

        private void Push(int s)
        {
            if (s >= _mark.Length) Array.Resize(ref _mark, Math.Max(s + 1, _mark.Length * 2));
            if (_mark[s] == _stamp) return;
            _mark[s] = _stamp;
            _stack.Add(s);
        }

        private void Expand(int d)
        {
            int[] set = _sets[d];
            var touched = new List<int>();
            SortedDictionary<int, List<int>>? calls = null, specials = null;
            foreach (int s in set)
            {
                for (int e = nfa.FirstEdge(s); e >= 0; e = nfa.NextEdge(e))
                {
                    switch (nfa.Kind(e))
                    {
                        case Nfa.Bytes:
                            for (int c = classOf[nfa.A(e)]; c <= classOf[nfa.B(e)]; c++)
                            {
                                if (_buckets[c].Count == 0) touched.Add(c);
                                _buckets[c].Add(nfa.To(e));
                            }
                            break;
                        case Nfa.Call:
                            calls ??= [];
                            if (!calls.TryGetValue(nfa.A(e), out var cl)) calls[nfa.A(e)] = cl = [];
                            cl.Add(nfa.To(e));
                            break;
                        case Nfa.Special:
                            specials ??= [];
                            if (!specials.TryGetValue(nfa.A(e), out var sl)) specials[nfa.A(e)] = sl = [];
                            sl.Add(nfa.To(e));
                            break;
                    }
                }
            }
            foreach (int c in touched)
            {
                int target = StateFor(Normalize(_buckets[c]));
                _trans[d * classCount + c] = target;
                _buckets[c].Clear();
            }
            if (calls is not null)
                foreach (var (rule, targets) in calls) _calls.Add((d, rule, StateFor(Normalize(targets))));
            if (specials is not null)
                foreach (var (token, targets) in specials) _specials.Add((d, token, StateFor(Normalize(targets))));
        }

        private static int[] Normalize(List<int> targets)
        {
            targets.Sort();
            int n = 0;
            for (int i = 0; i < targets.Count; i++)
                if (i == 0 || targets[i] != targets[i - 1]) targets[n++] = targets[i];
            return targets.GetRange(0, n).ToArray();
        }

        public CompiledGrammar Finish(int[] ruleStart, string[] names, int root)
        {
            int n = _accepting.Count;
            var allCalls = _calls.OrderBy(c => c.State).ToList();
            var allCallOffset = new int[n + 1];
            foreach (var c in allCalls) allCallOffset[c.State + 1]++;
            for (int s = 0; s < n; s++) allCallOffset[s + 1] += allCallOffset[s];
            var nullable = NullableStates(n, ruleStart, allCalls);
            CheckLeftRecursion(ruleStart, names, nullable, allCalls, allCallOffset);

            bool[] useful = Useful(n, ruleStart);
            if (!useful[ruleStart[root]])
                throw new GrammarException($"the grammar matches nothing (root rule '{names[root]}' can never complete)");

            var trans = _trans.ToArray();
            for (int i = 0; i < trans.Length; i++)
                if (trans[i] >= 0 && !useful[trans[i]]) trans[i] = -1;
            var flags = new byte[n];
            for (int s = 0; s < n; s++) if (_accepting[s]) flags[s] |= CompiledGrammar.FlagAccepting;

            var calls = _calls.Where(c => useful[c.State] && useful[c.Return] && useful[ruleStart[c.Rule]]).OrderBy(c => c.State).ToList();
            var callOffset = new int[n + 1];
            foreach (var c in calls) { callOffset[c.State + 1]++; flags[c.State] |= CompiledGrammar.FlagCalls; }
            for (int s = 0; s < n; s++) callOffset[s + 1] += callOffset[s];
            var specials = _specials.Where(x => useful[x.State] && useful[x.Target]).OrderBy(x => x.State).ToList();
            var specialOffset = new int[n + 1];
            foreach (var x in specials) { specialOffset[x.State + 1]++; flags[x.State] |= CompiledGrammar.FlagSpecials; }
            for (int s = 0; s < n; s++) specialOffset[s + 1] += specialOffset[s];

            for (int s = 0; s < n; s++) if (useful[s] && nullable[s]) flags[s] |= CompiledGrammar.FlagNullable;
            return new CompiledGrammar(classCount, classOf, trans, flags, callOffset,
                calls.Select(c => c.Rule).ToArray(), calls.Select(c => c.Return).ToArray(),
                specialOffset, specials.Select(x => x.Token).ToArray(), specials.Select(x => x.Target).ToArray(),
                ruleStart, names, root);
        }

        /// <summary>States from which an accepting state of their rule is reachable (calls need a productive callee).</summary>
        private bool[] Useful(int n, int[] ruleStart)
        {
            var useful = new bool[n];
            var reverse = new List<int>[n];
            var callsByReturn = new List<int>?[n];
            var callsByRule = new List<int>?[ruleStart.Length];
            for (int s = 0; s < n; s++)
                for (int c = 0; c < classCount; c++)
                    if (_trans[s * classCount + c] is var t and >= 0) (reverse[t] ??= []).Add(s);
            foreach (var (state, _, target) in _specials) (reverse[target] ??= []).Add(state);
            for (int i = 0; i < _calls.Count; i++)
            {
                (callsByReturn[_calls[i].Return] ??= []).Add(i);
                (callsByRule[_calls[i].Rule] ??= []).Add(i);
            }
            var startsOf = new Dictionary<int, List<int>>();
            for (int r = 0; r < ruleStart.Length; r++)
            {
                if (!startsOf.TryGetValue(ruleStart[r], out var list)) startsOf[ruleStart[r]] = list = [];
                list.Add(r);
            }
            var work = new Stack<int>();
            void Mark(int s)
            {
                if (useful[s]) return;
                useful[s] = true;
                work.Push(s);
            }
            for (int s = 0; s < n; s++) if (_accepting[s]) Mark(s);
            while (work.Count > 0)
            {
                int s = work.Pop();
                if (reverse[s] is { } preds) foreach (int p in preds) Mark(p);
                if (callsByReturn[s] is { } byReturn)
                    foreach (int i in byReturn)
                        if (useful[ruleStart[_calls[i].Rule]]) Mark(_calls[i].State);
                if (startsOf.TryGetValue(s, out var rulesStartingHere))
                    foreach (int r in rulesStartingHere)
                        if (callsByRule[r] is { } byRule)
                            foreach (int i in byRule)
                                if (useful[_calls[i].Return]) Mark(_calls[i].State);
            }
            return useful;
        }

        /// <summary>States that reach acceptance of their rule through calls of nullable rules only (no input).</summary>
        private bool[] NullableStates(int n, int[] ruleStart, List<(int State, int Rule, int Return)> calls)
        {
            var nullableState = new bool[n];
            for (int s = 0; s < n; s++) nullableState[s] = _accepting[s];
            bool changed = true;
            while (changed)
            {
                changed = false;
                foreach (var (state, rule, ret) in calls)
                {
                    if (!nullableState[state] && nullableState[ruleStart[rule]] && nullableState[ret])
                    {
                        nullableState[state] = true;
                        changed = true;
                    }
                }
            }
            return nullableState;
        }

        /// <summary>A rule that can call itself before consuming anything would loop forever: reject it.</summary>
        private static void CheckLeftRecursion(int[] ruleStart, string[] names, bool[] nullableState,
            List<(int State, int Rule, int Return)> calls, int[] callOffset)
        {
            int rules = ruleStart.Length;
            // Edges rule → rule callable without consuming input.
            var leftCalls = new List<int>[rules];
            for (int r = 0; r < rules; r++)
            {
                leftCalls[r] = [];
                var seen = new HashSet<int>();
                var stack = new Stack<int>();
                stack.Push(ruleStart[r]);
                seen.Add(ruleStart[r]);
                while (stack.Count > 0)
                {
                    int s = stack.Pop();
                    for (int i = callOffset[s]; i < callOffset[s + 1]; i++)
                    {
                        var (_, callee, ret) = calls[i];
                        leftCalls[r].Add(callee);
                        if (nullableState[ruleStart[callee]] && seen.Add(ret)) stack.Push(ret);
                    }
                }
            }
            var color = new byte[rules]; // 0 new, 1 on path, 2 done
            var path = new List<int>();
            bool Visit(int r)
            {
                color[r] = 1;
                path.Add(r);
                foreach (int next in leftCalls[r])
                {
                    if (color[next] == 1)
                    {
                        var cycle = path.Skip(path.IndexOf(next)).Append(next).Select(x => names[x]);
                        throw new GrammarException($"left recursion is not supported: {string.Join(" -> ", cycle)}");
                    }
                    if (color[next] == 0 && Visit(next)) return true;
                }
                path.RemoveAt(path.Count - 1);
                color[r] = 2;
                return false;
            }
            for (int r = 0; r < rules; r++) if (color[r] == 0) Visit(r);
        }
    }
}

/// <summary>Structural equality for int arrays (automaton state sets as dictionary keys).</summary>
internal sealed class IntArrayComparer : IEqualityComparer<int[]>
{
    public static IntArrayComparer Instance { get; } = new();

    public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(int[] obj)
    {
        var h = new HashCode();
        h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(obj.AsSpan()));
        return h.ToHashCode();
    }
}
