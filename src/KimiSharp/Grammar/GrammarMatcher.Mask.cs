namespace KimiSharp.Grammar;

// The allowed-token mask: one preorder scan of the vocabulary trie, carrying the thread set of each depth in
// the work buffer, skipping a whole subtree as soon as its prefix is rejected. Where the state loops on every
// character of a vocabulary slice (a JSON string body, free text), the slice's precomputed mask is taken as a
// whole and only the rest trie is walked.
public sealed partial class GrammarMatcher
{
    private int[] _levelStart = new int[64], _levelEnd = new int[64];

    /// <summary>
    /// Sets, in <paramref name="bits"/> (cleared first; bit i = token i), every text token whose bytes the grammar
    /// accepts next and every special token it allows next. End of generation is the caller's business
    /// (<see cref="IsAccepting"/>).
    /// </summary>
    public void ComputeMask(GrammarVocabulary vocabulary, Span<ulong> bits)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        bits.Clear();
        if (_count == 0) return;

        foreach (int special in _g.Specials)
            if ((uint)special < (uint)vocabulary.Size && AllowsSpecial(special))
                bits[special >> 6] |= 1UL << (special & 63);

        var trie = vocabulary.Trie;
        if (_count == 1 && SliceFor(_state[0], vocabulary) is var slice && slice >= 0)
        {
            var s = vocabulary.Slices[slice];
            var mask = s.Mask;
            for (int i = 0; i < bits.Length; i++) bits[i] |= mask[i];
            trie = s.Rest;
        }
        Walk(trie, bits);
    }

    private void Walk(TokenTrie trie, Span<ulong> bits)
    {
        BeginTemporaryStep();
        if (_levelStart.Length <= trie.MaxDepth)
        {
            _levelStart = new int[trie.MaxDepth + 1];
            _levelEnd = new int[trie.MaxDepth + 1];
        }
        CopyCurrentToBuffer();
        _levelStart[0] = 0;
        _levelEnd[0] = _count;

        var g = _g;
        int classes = g.ClassCount;
        byte[] classOf = g.ClassOf;
        int[] trans = g.Trans;
        byte[] nodeByte = trie.Bytes;
        ushort[] nodeDepth = trie.Depth;
        int[] nodeToken = trie.Token;
        int[] nodeNext = trie.Next;
        int[] sameBytes = trie.SameBytesNext;
        int n = trie.NodeCount;
        int i = 1;
        while (i < n)
        {
            int d = nodeDepth[i];
            int parentStart = _levelStart[d - 1], parentEnd = _levelEnd[d - 1];
            int cls = classOf[nodeByte[i]];
            int outStart = parentEnd;
            int outEnd;
            if (parentEnd - parentStart == 1 && g.IsSimple(_bufState[parentStart]))
            {
                // Fast path: one thread inside a rule's automaton.
                int t = trans[_bufState[parentStart] * classes + cls];
                if (t < 0)
                {
                    i = nodeNext[i];
                    continue;
                }
                EnsureBuffer(outStart + 1);
                _bufState[outStart] = t;
                _bufStack[outStart] = _bufStack[parentStart];
                outEnd = outStart + 1;
            }
            else
            {
                _bufCount = outStart;
                for (int p = parentStart; p < parentEnd; p++) StepByte(_bufState[p], _bufStack[p], cls, outStart);
                if (_bufCount == outStart)
                {
                    i = nodeNext[i];
                    continue;
                }
                outEnd = _bufCount;
            }
            _levelStart[d] = outStart;
            _levelEnd[d] = outEnd;
            for (int token = nodeToken[i]; token >= 0; token = sameBytes[token])
                bits[token >> 6] |= 1UL << (token & 63);
            i++;
        }
    }

    /// <summary>The vocabulary slice whose every character loops on <paramref name="state"/>, or -1.</summary>
    private int SliceFor(int state, GrammarVocabulary vocabulary)
    {
        sbyte cached = _g.SliceCache[state];
        if (cached != CompiledGrammar.SliceUnknown) return cached;
        sbyte found = CompiledGrammar.SliceNone;
        for (int k = 0; k < vocabulary.Slices.Length; k++)
        {
            if (LoopsOnEveryCharacter(state, vocabulary.Slices[k].Sequences))
            {
                found = (sbyte)k;
                break;
            }
        }
        _g.SliceCache[state] = found;
        return found;
    }

    /// <summary>Every UTF-8 sequence of the set leads from <paramref name="state"/> back to it through simple states only.</summary>
    private bool LoopsOnEveryCharacter(int state, (byte Lo, byte Hi)[][] sequences)
    {
        var g = _g;
        if (!g.IsSimple(state)) return false;
        var current = new HashSet<int>();
        var next = new HashSet<int>();
        foreach (var sequence in sequences)
        {
            current.Clear();
            current.Add(state);
            foreach (var (lo, hi) in sequence)
            {
                next.Clear();
                foreach (int s in current)
                {
                    if (!g.IsSimple(s)) return false;
                    for (int b = lo; b <= hi; b++)
                    {
                        int t = g.Trans[s * g.ClassCount + g.ClassOf[b]];
                        if (t < 0) return false;
                        next.Add(t);
                    }
                }
                (current, next) = (next, current);
            }
            if (current.Count != 1 || !current.Contains(state)) return false;
        }
        return true;
    }
}
