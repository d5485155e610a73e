namespace KimiSharp.Grammar;

/// <summary>
/// An immutable set of Unicode scalar values as sorted, disjoint, non-adjacent inclusive ranges (what a regex or
/// GBNF character class denotes). Surrogates (U+D800–U+DFFF) are never members: they have no UTF-8 encoding.
/// </summary>
public sealed class CodePointSet
{
    public const int MaxCodePoint = 0x10FFFF;

    private readonly (int Lo, int Hi)[] _ranges;

    private CodePointSet((int Lo, int Hi)[] ranges) => _ranges = ranges;

    public static CodePointSet Empty { get; } = new([]);

    /// <summary>Every scalar value.</summary>
    public static CodePointSet All { get; } = FromRanges([(0, MaxCodePoint)]);

    public IReadOnlyList<(int Lo, int Hi)> Ranges => _ranges;

    public bool IsEmpty => _ranges.Length == 0;

    public static CodePointSet Single(int codePoint) => FromRanges([(codePoint, codePoint)]);

    public static CodePointSet Range(int lo, int hi) => FromRanges([(lo, hi)]);

    /// <summary>Normalises any list of ranges (unsorted, overlapping, surrogates included) into a set.</summary>
    public static CodePointSet FromRanges(IEnumerable<(int Lo, int Hi)> ranges)
    {
        var list = new List<(int Lo, int Hi)>();
        foreach (var (lo0, hi0) in ranges)
        {
            int lo = Math.Max(0, lo0), hi = Math.Min(MaxCodePoint, hi0);
            if (lo > hi) continue;
            // Cut out the surrogate block.
            if (lo < 0xD800 && hi >= 0xD800) { list.Add((lo, 0xD7FF)); lo = 0xE000; }
            else if (lo >= 0xD800 && lo <= 0xDFFF) lo = 0xE000;
            if (lo <= hi) list.Add((lo, hi));
        }
        list.Sort((a, b) => a.Lo.CompareTo(b.Lo));
        var merged = new List<(int Lo, int Hi)>(list.Count);
        foreach (var r in list)
        {
            if (merged.Count > 0 && r.Lo <= merged[^1].Hi + 1)
                merged[^1] = (merged[^1].Lo, Math.Max(merged[^1].Hi, r.Hi));
            else
                merged.Add(r);
        }
        return new CodePointSet(merged.ToArray());
    }

    public bool Contains(int codePoint)
    {
        int lo = 0, hi = _ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (codePoint < _ranges[mid].Lo) hi = mid - 1;
            else if (codePoint > _ranges[mid].Hi) lo = mid + 1;
            else return true;
        }
        return false;
    }

    public CodePointSet Union(CodePointSet other) => FromRanges(_ranges.Concat(other._ranges));

    /// <summary>Every scalar value not in this set.</summary>
    public CodePointSet Complement()
    {
        var result = new List<(int, int)>();
        int next = 0;
        foreach (var (lo, hi) in _ranges)
        {
            if (lo > next) result.Add((next, lo - 1));
            next = hi + 1;
        }
        if (next <= MaxCodePoint) result.Add((next, MaxCodePoint));
        return FromRanges(result);
    }

    public CodePointSet Intersect(CodePointSet other) => Complement().Union(other.Complement()).Complement();

    public CodePointSet Except(CodePointSet other) => Intersect(other.Complement());

    /// <summary>Adds the other case of every ASCII and simple Unicode letter (case-insensitive matching).</summary>
    public CodePointSet WithCaseVariants()
    {
        var extra = new List<(int, int)>(_ranges);
        foreach (var (lo, hi) in _ranges)
        {
            for (int c = lo; c <= Math.Min(hi, 0xFFFF); c++)
            {
                char ch = (char)c;
                if (char.IsSurrogate(ch)) continue;
                char u = char.ToUpperInvariant(ch), l = char.ToLowerInvariant(ch);
                if (u != ch) extra.Add((u, u));
                if (l != ch) extra.Add((l, l));
            }
        }
        return FromRanges(extra);
    }

    public override string ToString() =>
        "[" + string.Join(",", _ranges.Select(r => r.Lo == r.Hi ? $"U+{r.Lo:X}" : $"U+{r.Lo:X}-U+{r.Hi:X}")) + "]";
}
