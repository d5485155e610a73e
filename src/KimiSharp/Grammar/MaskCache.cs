using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KimiSharp.Grammar;

/// <summary>
/// Allowed-token masks by parse state, shared by every sequence of every grammar of one <see cref="Enforcer"/>:
/// a state recurs constantly (every token inside a long string value is the same state, and clients resend
/// the same tools every turn), so most masks are a lookup and a 20 KB copy. The key is the grammar plus the
/// full state (thread tops and whole stacks), so a hit is exact. Bounded: the oldest entries go first.
/// </summary>
public sealed class MaskCache(int capacity = 2048)
{
    private readonly Dictionary<int, Entry> _entries = [];
    private readonly Queue<int> _order = new();
    private readonly Lock _lock = new();
    private long _hits, _misses;

    private sealed record Entry(CompiledGrammar Grammar, int[] Key, ulong[] Mask);

    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Fills <paramref name="bits"/> with the matcher's mask, from the cache when this state was seen before.</summary>
    public void ComputeMask(GrammarMatcher matcher, GrammarVocabulary vocabulary, Span<ulong> bits)
    {
        Span<int> key = stackalloc int[256];
        int n = matcher.WriteStateKey(key);
        if (n < 0)
        {
            matcher.ComputeMask(vocabulary, bits);
            return;
        }
        key = key[..n];
        var hasher = new HashCode();
        hasher.Add(RuntimeHelpers.GetHashCode(matcher.Grammar));
        hasher.AddBytes(MemoryMarshal.AsBytes(key));
        int hash = hasher.ToHashCode();
        lock (_lock)
        {
            if (_entries.TryGetValue(hash, out var e) && ReferenceEquals(e.Grammar, matcher.Grammar) && e.Key.AsSpan().SequenceEqual(key) && e.Mask.Length == bits.Length)
            {
                e.Mask.CopyTo(bits);
                _hits++;
                return;
            }
        }
        matcher.ComputeMask(vocabulary, bits);
        var entry = new Entry(matcher.Grammar, key.ToArray(), bits.ToArray());
        lock (_lock)
        {
            _misses++;
            if (_entries.ContainsKey(hash)) return;
            while (_entries.Count >= capacity && _order.TryDequeue(out int old)) _entries.Remove(old);
            _entries[hash] = entry;
            _order.Enqueue(hash);
        }
    }
}
