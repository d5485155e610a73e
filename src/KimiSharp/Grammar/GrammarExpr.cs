using System.Text;

namespace KimiSharp.Grammar;

/// <summary>
/// A grammar expression over bytes, rule references and special tokens: what JSON Schema, GBNF and regular
/// expressions all compile to. Expressions are immutable and may be shared (a DAG): the compiler emits each
/// (expression, continuation) pair once, so shared sub-expressions stay shared in the automaton.
/// </summary>
public abstract class GrammarExpr
{
    private protected GrammarExpr()
    {
    }

    /// <summary>Matches the empty string.</summary>
    public static GrammarExpr Empty { get; } = new SeqExpr([]);

    /// <summary>Matches nothing.</summary>
    public static GrammarExpr Nothing { get; } = new AltExpr([]);

    public static GrammarExpr ByteRange(byte lo, byte hi) => new ByteRangeExpr(lo, hi);

    public static GrammarExpr Literal(string text) => Literal(Encoding.UTF8.GetBytes(text));

    public static GrammarExpr Literal(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 1) return new ByteRangeExpr(bytes[0], bytes[0]);
        var items = new GrammarExpr[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) items[i] = new ByteRangeExpr(bytes[i], bytes[i]);
        return new SeqExpr(items);
    }

    /// <summary>One code point of <paramref name="set"/> in UTF-8.</summary>
    public static GrammarExpr Utf8(CodePointSet set)
    {
        var sequences = new List<(byte Lo, byte Hi)[]>();
        foreach (var (lo, hi) in set.Ranges) Utf8Sequences.Split(lo, hi, sequences);
        var alternatives = new List<GrammarExpr>(sequences.Count);
        foreach (var seq in sequences)
            alternatives.Add(seq.Length == 1 ? new ByteRangeExpr(seq[0].Lo, seq[0].Hi) : new SeqExpr(seq.Select(r => (GrammarExpr)new ByteRangeExpr(r.Lo, r.Hi)).ToArray()));
        return Alt(alternatives);
    }

    public static GrammarExpr Seq(params GrammarExpr[] items) => Seq((IEnumerable<GrammarExpr>)items);

    public static GrammarExpr Seq(IEnumerable<GrammarExpr> items)
    {
        var flat = new List<GrammarExpr>();
        foreach (var item in items)
        {
            if (item is SeqExpr s) flat.AddRange(s.Items);
            else if (item is AltExpr { Items.Length: 0 }) return Nothing;
            else flat.Add(item);
        }
        return flat.Count == 1 ? flat[0] : new SeqExpr(flat.ToArray());
    }

    public static GrammarExpr Alt(params GrammarExpr[] items) => Alt((IEnumerable<GrammarExpr>)items);

    public static GrammarExpr Alt(IEnumerable<GrammarExpr> items)
    {
        var flat = new List<GrammarExpr>();
        foreach (var item in items)
        {
            if (item is AltExpr a) flat.AddRange(a.Items);
            else flat.Add(item);
        }
        return flat.Count == 1 ? flat[0] : new AltExpr(flat.ToArray());
    }

    /// <summary><paramref name="inner"/> repeated min to max times (max -1 = unbounded).</summary>
    public static GrammarExpr Repeat(GrammarExpr inner, int min, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(min);
        if (max >= 0 && max < min) return Nothing;
        if (min == 1 && max == 1) return inner;
        if (max == 0) return Empty;
        return new RepeatExpr(inner, min, max);
    }

    public static GrammarExpr Optional(GrammarExpr inner) => Repeat(inner, 0, 1);

    public static GrammarExpr Star(GrammarExpr inner) => Repeat(inner, 0, -1);

    public static GrammarExpr Plus(GrammarExpr inner) => Repeat(inner, 1, -1);

    public static GrammarExpr Rule(int ruleId) => new RuleRefExpr(ruleId);

    /// <summary>A special (control) token of the vocabulary, matched as one terminal, never as text.</summary>
    public static GrammarExpr SpecialToken(int tokenId) => new SpecialTokenExpr(tokenId);
}

internal sealed class ByteRangeExpr(byte lo, byte hi) : GrammarExpr
{
    public byte Lo { get; } = lo;
    public byte Hi { get; } = hi;
}

internal sealed class SeqExpr(GrammarExpr[] items) : GrammarExpr
{
    public GrammarExpr[] Items { get; } = items;
}

internal sealed class AltExpr(GrammarExpr[] items) : GrammarExpr
{
    public GrammarExpr[] Items { get; } = items;
}

internal sealed class RepeatExpr(GrammarExpr inner, int min, int max) : GrammarExpr
{
    public GrammarExpr Inner { get; } = inner;
    public int Min { get; } = min;

    /// <summary>-1 = unbounded.</summary>
    public int Max { get; } = max;
}

internal sealed class RuleRefExpr(int ruleId) : GrammarExpr
{
    public int RuleId { get; } = ruleId;
}

internal sealed class SpecialTokenExpr(int tokenId) : GrammarExpr
{
    public int TokenId { get; } = tokenId;
}
