namespace KimiSharp.Grammar;

// One input symbol over a set of threads: the byte (or special token) is consumed by the top automaton, or by a
// rule it calls (push the return state), or, when the top rule may end here, by the caller (pop) — recursively.
public sealed partial class GrammarMatcher
{
    // Work buffer of thread sets: the mask walk keeps one segment per trie depth in it.
    private int[] _bufState = new int[256], _bufStack = new int[256];
    private int _bufCount;

    // Stack nodes pushed during a mask walk are temporary (ids <= -2), dropped after the walk; real steps intern.
    private bool _persistent;
    private int[] _tmpReturn = new int[256], _tmpParent = new int[256];
    private int _tmpCount;

    private void BeginPersistentStep() => _persistent = true;

    private void BeginTemporaryStep()
    {
        _persistent = false;
        _tmpCount = 0;
    }

    private int Push(int ret, int parent)
    {
        if (_persistent) return Intern(ret, parent);
        if (_tmpCount == _tmpReturn.Length)
        {
            Array.Resize(ref _tmpReturn, _tmpCount * 2);
            Array.Resize(ref _tmpParent, _tmpCount * 2);
        }
        _tmpReturn[_tmpCount] = ret;
        _tmpParent[_tmpCount] = parent;
        return -2 - _tmpCount++;
    }

    private void StepByte(int s, int k, int cls, int outStart)
    {
        var g = _g;
        int t = g.Trans[s * g.ClassCount + cls];
        if (t >= 0) AddThread(t, k, outStart);
        byte f = g.Flags[s];
        if ((f & CompiledGrammar.FlagCalls) != 0)
        {
            for (int j = g.CallOffset[s]; j < g.CallOffset[s + 1]; j++)
                StepByte(g.RuleStart[g.CallRule[j]], Push(g.CallReturn[j], k), cls, outStart);
        }
        if ((f & CompiledGrammar.FlagAccepting) != 0 && k != EmptyStack)
        {
            if (k >= 0) StepByte(_nodeReturn[k], _nodeParent[k], cls, outStart);
            else StepByte(_tmpReturn[-2 - k], _tmpParent[-2 - k], cls, outStart);
        }
    }

    private void StepSpecial(int s, int k, int token, int outStart)
    {
        var g = _g;
        byte f = g.Flags[s];
        if ((f & CompiledGrammar.FlagSpecials) != 0)
            for (int j = g.SpecialOffset[s]; j < g.SpecialOffset[s + 1]; j++)
                if (g.SpecialToken[j] == token) AddThread(g.SpecialTarget[j], k, outStart);
        if ((f & CompiledGrammar.FlagCalls) != 0)
            for (int j = g.CallOffset[s]; j < g.CallOffset[s + 1]; j++)
                StepSpecial(g.RuleStart[g.CallRule[j]], Push(g.CallReturn[j], k), token, outStart);
        if ((f & CompiledGrammar.FlagAccepting) != 0 && k != EmptyStack)
        {
            if (k >= 0) StepSpecial(_nodeReturn[k], _nodeParent[k], token, outStart);
            else StepSpecial(_tmpReturn[-2 - k], _tmpParent[-2 - k], token, outStart);
        }
    }

    private void AddThread(int state, int stack, int outStart)
    {
        for (int i = outStart; i < _bufCount; i++)
            if (_bufState[i] == state && _bufStack[i] == stack) return;
        if (_bufCount - outStart >= MaxThreads)
            throw new GrammarException($"the grammar is too ambiguous: more than {MaxThreads} parses at once");
        EnsureBuffer(_bufCount + 1);
        _bufState[_bufCount] = state;
        _bufStack[_bufCount] = stack;
        _bufCount++;
    }

    private void EnsureBuffer(int size)
    {
        if (size <= _bufState.Length) return;
        int n = Math.Max(size, _bufState.Length * 2);
        Array.Resize(ref _bufState, n);
        Array.Resize(ref _bufStack, n);
    }
}
