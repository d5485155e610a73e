using KimiSharp.Grammar;

namespace KimiSharp.Tests.Grammar;

internal static class GrammarAssert
{
    /// <summary>Whether the grammar's language holds <paramref name="text"/> exactly.</summary>
    public static bool Matches(CompiledGrammar grammar, string text)
    {
        var m = new GrammarMatcher(grammar);
        return m.AcceptText(text) && m.IsAccepting;
    }

    /// <summary>Whether <paramref name="text"/> is a prefix of some sentence.</summary>
    public static bool IsPrefix(CompiledGrammar grammar, string text) => new GrammarMatcher(grammar).AcceptText(text);
}
