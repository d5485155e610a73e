namespace KimiSharp.Grammar;

/// <summary>
/// The parse state of one sequence under a <see cref="CompiledGrammar"/>: a set of threads, each the automaton
/// state on top of a stack of return states (a pushdown automaton over bytes that may follow several paths at
/// once). Stacks are interned, so equal states have equal ids. Advances by text bytes and special tokens, and
/// computes allowed-token masks over a vocabulary trie (<see cref="ComputeMask"/>). Not thread-safe; one per sequence.
/// </summary>
public sealed partial class GrammarMatcher
{
    /// <summary>Stack id of the empty stack.</summary>
    private const int EmptyStack = -1;

    /// <summary>Most threads a state may hold; beyond it the grammar is too ambiguous to follow.</summary>
    public const int MaxThreads = 4096;

    private readonly CompiledGrammar _g;

    // Current threads.
    private int[] _state = new int[4], _stack = new int[4];
    private int _count;

    // Interned stack nodes (return state, parent): ids >= 0.
    private int[] _nodeReturn = new int[16], _nodeParent = new int[16];
    private int _nodeCount;
    private readonly Dictionary<long, int> _intern = [];

    public GrammarMatcher(CompiledGrammar grammar)
    {
        _g = grammar ?? throw new ArgumentNullException(nameof(grammar));
        Reset();
    }

    public CompiledGrammar Grammar => _g;

    /// <summary>Back to the start of the root rule.</summary>
    public void Reset()
    {
        _count = 1;
        _state[0] = _g.RuleStart[_g.Root];
        _stack[0] = EmptyStack;
    }

    /// <summary>The input so far is a complete sentence of the grammar.</summary>
    public bool IsAccepting
    {
        get
        {
            for (int i = 0; i < _count; i++)
                if (CanComplete(_state[i], _stack[i])) return true;
            return false;
        }
    }

    /// <summary>The thread can finish every rule on its stack without more input.</summary>
    private bool CanComplete(int s, int k)
    {
        while (true)
        {
            if ((_g.Flags[s] & CompiledGrammar.FlagNullable) == 0) return false;
            if (k == EmptyStack) return true;
            s = _nodeReturn[k];
            k = _nodeParent[k];
        }
    }

    /// <summary>No continuation at all is possible (only after a rejected input was forced in).</summary>
    public bool IsDead => _count == 0;

    /// <summary>Something other than the end may follow (a byte or a special token).</summary>
    public bool CanContinue
    {
        get
        {
            for (int i = 0; i < _count; i++)
                if (CanConsume(_state[i], _stack[i], depth: 0)) return true;
            return false;
        }
    }

    private bool CanConsume(int s, int k, int depth)
    {
        if (depth > 256) return true; // deep nullable chains: assume yes (never happens in practice)
        var f = _g.Flags[s];
        int row = s * _g.ClassCount;
        for (int c = 0; c < _g.ClassCount; c++) if (_g.Trans[row + c] >= 0) return true;
        if ((f & CompiledGrammar.FlagSpecials) != 0) return true;
        if ((f & CompiledGrammar.FlagCalls) != 0)
            for (int j = _g.CallOffset[s]; j < _g.CallOffset[s + 1]; j++)
                if (CanConsume(_g.RuleStart[_g.CallRule[j]], k, depth + 1) || CanConsume(_g.CallReturn[j], k, depth + 1)) return true;
        if ((f & CompiledGrammar.FlagAccepting) != 0 && k != EmptyStack)
            return CanConsume(_nodeReturn[k], _nodeParent[k], depth + 1);
        return false;
    }

    /// <summary>Advances by the bytes of a text token; false (state unchanged) when the grammar rejects them.</summary>
    public bool AcceptBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return _count > 0;
        BeginPersistentStep();
        int start = 0, end = _count;
        CopyCurrentToBuffer();
        foreach (byte b in bytes)
        {
            int outStart = end;
            _bufCount = outStart;
            int cls = _g.ClassOf[b];
            for (int p = start; p < end; p++) StepByte(_bufState[p], _bufStack[p], cls, outStart);
            if (_bufCount == outStart) return false;
            // Keep only the newest set at the front of the buffer.
            int n = _bufCount - outStart;
            Array.Copy(_bufState, outStart, _bufState, 0, n);
            Array.Copy(_bufStack, outStart, _bufStack, 0, n);
            start = 0;
            end = n;
        }
        CommitBuffer(end);
        return true;
    }

    /// <summary>Advances by a special token; false (state unchanged) when the grammar does not allow it here.</summary>
    public bool AcceptSpecial(int token)
    {
        BeginPersistentStep();
        CopyCurrentToBuffer();
        int end = _count;
        _bufCount = end;
        for (int p = 0; p < end; p++) StepSpecial(_bufState[p], _bufStack[p], token, end);
        if (_bufCount == end) return false;
        int n = _bufCount - end;
        Array.Copy(_bufState, end, _bufState, 0, n);
        Array.Copy(_bufStack, end, _bufStack, 0, n);
        CommitBuffer(n);
        return true;
    }

    /// <summary>Whether these bytes may come next (the state is not changed).</summary>
    public bool Allows(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return _count > 0;
        BeginTemporaryStep();
        CopyCurrentToBuffer();
        int start = 0, end = _count;
        foreach (byte b in bytes)
        {
            _bufCount = end;
            int cls = _g.ClassOf[b];
            for (int p = start; p < end; p++) StepByte(_bufState[p], _bufStack[p], cls, end);
            if (_bufCount == end) return false;
            start = end;
            end = _bufCount;
        }
        return true;
    }

    /// <summary>Advances by UTF-8 text; false (state unchanged) when rejected.</summary>
    public bool AcceptText(string text) => AcceptBytes(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>Whether the special token is allowed now (the state is not changed).</summary>
    public bool AllowsSpecial(int token)
    {
        BeginTemporaryStep();
        CopyCurrentToBuffer();
        _bufCount = _count;
        for (int p = 0; p < _count; p++) StepSpecial(_bufState[p], _bufStack[p], token, _count);
        return _bufCount > _count;
    }

    private void CopyCurrentToBuffer()
    {
        EnsureBuffer(_count);
        Array.Copy(_state, _bufState, _count);
        Array.Copy(_stack, _bufStack, _count);
    }

    private void CommitBuffer(int n)
    {
        if (_state.Length < n)
        {
            _state = new int[n * 2];
            _stack = new int[n * 2];
        }
        Array.Copy(_bufState, _state, n);
        Array.Copy(_bufStack, _stack, n);
        _count = n;
    }

    /// <summary>Interns a stack node; id >= 0.</summary>
    private int Intern(int ret, int parent)
    {
        long key = ((long)ret << 32) | (uint)parent;
        if (_intern.TryGetValue(key, out int id)) return id;
        if (_nodeCount == _nodeReturn.Length)
        {
            Array.Resize(ref _nodeReturn, _nodeCount * 2);
            Array.Resize(ref _nodeParent, _nodeCount * 2);
        }
        _nodeReturn[_nodeCount] = ret;
        _nodeParent[_nodeCount] = parent;
        _intern[key] = _nodeCount;
        return _nodeCount++;
    }

    /// <summary>Writes a canonical key of the current state (thread tops and full stacks) for mask caching; returns its length or -1 if it does not fit.</summary>
    internal int WriteStateKey(Span<int> key)
    {
        int n = 0;
        for (int i = 0; i < _count; i++)
        {
            if (n >= key.Length) return -1;
            key[n++] = _state[i];
            for (int k = _stack[i]; k != EmptyStack; k = _nodeParent[k])
            {
                if (n >= key.Length) return -1;
                key[n++] = _nodeReturn[k];
            }
            if (n >= key.Length) return -1;
            key[n++] = -1;
        }
        return n;
    }

    /// <summary>Threads, their states' flags and slices, for diagnostics.</summary>
    internal string DebugState(GrammarVocabulary vocabulary)
    {
        var sb = new System.Text.StringBuilder($"{_count} threads:");
        for (int i = 0; i < _count; i++)
        {
            int depth = 0;
            for (int k = _stack[i]; k != EmptyStack; k = _nodeParent[k]) depth++;
            sb.Append($" [s{_state[i]} flags {_g.Flags[_state[i]]} depth {depth} slice {SliceFor(_state[i], vocabulary)}]");
        }
        return sb.ToString();
    }

    /// <summary>Number of threads (1 for deterministic grammars).</summary>
    public int ThreadCount => _count;
}
