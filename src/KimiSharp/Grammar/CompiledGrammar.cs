namespace KimiSharp.Grammar;

/// <summary>
/// A grammar ready to run: every rule is a deterministic automaton over byte classes, with rule calls and
/// special tokens as extra edges; all rules share one state numbering. Immutable and thread-safe (the lazily
/// filled slice cache is a benign race); one instance serves every sequence that uses the grammar.
/// Build with <see cref="GrammarCompiler"/>; run with <see cref="GrammarMatcher"/>.
/// </summary>
public sealed class CompiledGrammar
{
    internal const byte FlagAccepting = 1, FlagCalls = 2, FlagSpecials = 4;

    /// <summary>The state can complete its rule without input (accepting, or through calls of nullable rules).</summary>
    internal const byte FlagNullable = 8;

    internal CompiledGrammar(int classCount, byte[] classOf, int[] trans, byte[] flags, int[] callOffset, int[] callRule, int[] callReturn,
        int[] specialOffset, int[] specialToken, int[] specialTarget, int[] ruleStart, string[] ruleNames, int root)
    {
        ClassCount = classCount;
        ClassOf = classOf;
        Trans = trans;
        Flags = flags;
        CallOffset = callOffset;
        CallRule = callRule;
        CallReturn = callReturn;
        SpecialOffset = specialOffset;
        SpecialToken = specialToken;
        SpecialTarget = specialTarget;
        RuleStart = ruleStart;
        RuleNames = ruleNames;
        Root = root;
        StateCount = flags.Length;
        Specials = specialToken.Distinct().Order().ToArray();
        SliceCache = new sbyte[StateCount];
        Array.Fill(SliceCache, SliceUnknown);
    }

    internal const sbyte SliceUnknown = -2, SliceNone = -1;

    public int StateCount { get; }
    public int RuleCount => RuleStart.Length;

    /// <summary>The special tokens the grammar mentions (sorted).</summary>
    public IReadOnlyList<int> Specials { get; }

    internal int ClassCount { get; }
    internal byte[] ClassOf { get; }

    /// <summary>[state * ClassCount + class] → next state, or -1.</summary>
    internal int[] Trans { get; }
    internal byte[] Flags { get; }
    internal int[] CallOffset { get; }
    internal int[] CallRule { get; }
    internal int[] CallReturn { get; }
    internal int[] SpecialOffset { get; }
    internal int[] SpecialToken { get; }
    internal int[] SpecialTarget { get; }
    internal int[] RuleStart { get; }
    internal string[] RuleNames { get; }
    internal int Root { get; }

    /// <summary>Per state: which vocabulary slice applies (index), <see cref="SliceNone"/>, or not computed yet.</summary>
    internal sbyte[] SliceCache { get; }

    internal bool IsSimple(int state) => (Flags[state] & (FlagAccepting | FlagCalls)) == 0;
}
