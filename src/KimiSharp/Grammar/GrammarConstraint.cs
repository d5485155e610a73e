namespace KimiSharp.Grammar;

/// <summary>
/// The whole output must be a sentence of one grammar (response_format json_schema / json_object, GBNF
/// <c>grammar</c>, a regex), then end of generation. Text tokens advance the grammar by their bytes; special
/// tokens are terminals of their own; end-of-generation tokens are allowed exactly when the grammar is complete.
/// </summary>
public sealed class GrammarConstraint : MaskedConstraint
{
    private readonly GrammarMatcher _matcher;

    public GrammarConstraint(CompiledGrammar grammar, GrammarVocabulary vocabulary, MaskCache? cache = null) : base(vocabulary, cache)
    {
        _matcher = new GrammarMatcher(grammar);
    }

    public GrammarMatcher Matcher => _matcher;

    /// <summary>The grammar is complete (only end of generation may follow, or more if it allows).</summary>
    public bool IsComplete => _matcher.IsAccepting;

    protected override bool NeedsComputedMask => true;

    protected override void ComputeMask() => ComputeMaskOf(_matcher);

    protected override void CompleteMask()
    {
        if (!_matcher.IsAccepting) return;
        foreach (int eog in Vocabulary.EndOfGeneration) Mask.Set(eog);
    }

    protected override void ApplyFixed(Span<float> logits)
    {
    }

    protected override void Advance(int token) => TokenAdvance.Grammar(_matcher, Vocabulary, token, allowEnd: true);
}

/// <summary>Advancing a matcher by one token of the vocabulary.</summary>
internal static class TokenAdvance
{
    /// <summary>Text bytes or special terminal; end-of-generation passes when the grammar is complete.</summary>
    public static void Grammar(GrammarMatcher matcher, GrammarVocabulary vocabulary, int token, bool allowEnd)
    {
        if ((uint)token >= (uint)vocabulary.Size) throw new GrammarException($"token {token} is outside the vocabulary");
        if (vocabulary.TokenBytes[token] is { } bytes)
        {
            if (!matcher.AcceptBytes(bytes)) throw NotAllowed(vocabulary, token);
            return;
        }
        if (allowEnd && vocabulary.EndOfGeneration.Contains(token) && matcher.IsAccepting) return;
        if (!matcher.AcceptSpecial(token)) throw NotAllowed(vocabulary, token);
    }

    public static GrammarException NotAllowed(GrammarVocabulary vocabulary, int token) =>
        new($"token {token} ({vocabulary.Describe(token)}) is not allowed by the grammar here");
}
