using System.Collections.Concurrent;
using System.Text;

namespace KimiSharp.Grammar;

/// <summary>
/// Kimi-K2's tool-call markup as special-token ids of one vocabulary, and the grammars of a call's header:
/// <c>functions.NAME:IDX</c> followed by <c>&lt;|tool_call_argument_begin|&gt;</c>, for a set of names and the next index.
/// </summary>
public sealed class KimiToolFormat
{
    public const string SectionBeginText = "<|tool_calls_section_begin|>";
    public const string SectionEndText = "<|tool_calls_section_end|>";
    public const string CallBeginText = "<|tool_call_begin|>";
    public const string ArgumentBeginText = "<|tool_call_argument_begin|>";
    public const string CallEndText = "<|tool_call_end|>";

    private readonly ConcurrentDictionary<(string Names, int Index), CompiledGrammar> _headers = new();

    private KimiToolFormat(int sectionBegin, int sectionEnd, int callBegin, int argumentBegin, int callEnd, int[] markers)
    {
        SectionBegin = sectionBegin;
        SectionEnd = sectionEnd;
        CallBegin = callBegin;
        ArgumentBegin = argumentBegin;
        CallEnd = callEnd;
        Markers = markers;
    }

    public int SectionBegin { get; }
    public int SectionEnd { get; }
    public int CallBegin { get; }
    public int ArgumentBegin { get; }
    public int CallEnd { get; }

    /// <summary>Every tool-call marker of the vocabulary (the singular spellings too, where present).</summary>
    public IReadOnlyList<int> Markers { get; }

    /// <summary>The markers of <paramref name="vocabulary"/>, or null when it lacks one of the five.</summary>
    public static KimiToolFormat? For(GrammarVocabulary vocabulary)
    {
        if (!vocabulary.TryGetSpecial(SectionBeginText, out int sb) || !vocabulary.TryGetSpecial(SectionEndText, out int se)
            || !vocabulary.TryGetSpecial(CallBeginText, out int cb) || !vocabulary.TryGetSpecial(ArgumentBeginText, out int ab)
            || !vocabulary.TryGetSpecial(CallEndText, out int ce))
            return null;
        var markers = new List<int> { sb, se, cb, ab, ce };
        foreach (string singular in (string[])["<|tool_call_section_begin|>", "<|tool_call_section_end|>"])
            if (vocabulary.TryGetSpecial(singular, out int id)) markers.Add(id);
        return new KimiToolFormat(sb, se, cb, ab, ce, markers.ToArray());
    }

    /// <summary>Grammar of <c>functions.NAME:INDEX&lt;|tool_call_argument_begin|&gt;</c> for the given names (cached).</summary>
    public CompiledGrammar Header(IReadOnlyList<string> names, int index)
    {
        string key = string.Join('\n', names);
        return _headers.GetOrAdd((key, index), k =>
        {
            if (_headers.Count > 1024) _headers.Clear();
            var def = new GrammarDefinition();
            def.Root = def.AddRule("tool-call-header", GrammarExpr.Seq(
                GrammarExpr.Literal("functions."),
                GrammarExpr.Alt(names.Select(GrammarExpr.Literal)),
                GrammarExpr.Literal(":" + index.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                GrammarExpr.SpecialToken(ArgumentBegin)));
            return GrammarCompiler.Compile(def);
        });
    }

    /// <summary>The tool name in a header's text (<c>functions.NAME:IDX</c>).</summary>
    internal static string NameOf(ReadOnlySpan<byte> header)
    {
        string text = Encoding.UTF8.GetString(header);
        int start = text.StartsWith("functions.", StringComparison.Ordinal) ? "functions.".Length : 0;
        int colon = text.LastIndexOf(':');
        return text[start..colon];
    }
}
