using System.Text.Encodings.Web;
using System.Text.Json;

namespace KimiSharp.Grammar.Json;

/// <summary>JSON string text as grammar expressions: characters in their canonical JSON encoding, and any-character.</summary>
internal static class JsonStrings
{
    public static GrammarExpr Quote { get; } = GrammarExpr.Literal("\"");

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly GrammarExpr Hex = GrammarExpr.Utf8(CodePointSet.FromRanges([('0', '9'), ('a', 'f'), ('A', 'F')]));

    /// <summary>
    /// One character of a JSON string in any valid form: unescaped, a short escape, \u of a non-surrogate, or a
    /// \u surrogate pair (lone surrogates are excluded: they are not Unicode text). Counts as one character.
    /// </summary>
    public static GrammarExpr AnyChar { get; } = GrammarExpr.Alt(
        GrammarExpr.Utf8(GrammarVocabulary.JsonStringPlain),
        GrammarExpr.Seq(GrammarExpr.Literal("\\"), GrammarExpr.Alt(
            GrammarExpr.Utf8(CodePointSet.FromRanges([('"', '"'), ('\\', '\\'), ('/', '/'), ('b', 'b'), ('f', 'f'), ('n', 'n'), ('r', 'r'), ('t', 't')])),
            GrammarExpr.Seq(GrammarExpr.Literal("u"), UnicodeEscape()))));

    /// <summary>Zero or more characters (the body of an unconstrained string).</summary>
    public static GrammarExpr AnyBody { get; } = GrammarExpr.Star(AnyChar);

    private static GrammarExpr UnicodeEscape()
    {
        // After "\u": XXXX outside D800–DFFF, or a high surrogate followed by "\u" and a low surrogate.
        var notD = GrammarExpr.Utf8(CodePointSet.FromRanges([('0', '9'), ('a', 'c'), ('A', 'C'), ('e', 'f'), ('E', 'F')]));
        var d = GrammarExpr.Utf8(CodePointSet.FromRanges([('d', 'd'), ('D', 'D')]));
        var bmp = GrammarExpr.Alt(
            GrammarExpr.Seq(notD, Hex, Hex, Hex),
            GrammarExpr.Seq(d, GrammarExpr.Utf8(CodePointSet.Range('0', '7')), Hex, Hex));
        var high = GrammarExpr.Seq(d, GrammarExpr.Utf8(CodePointSet.FromRanges([('8', '9'), ('a', 'b'), ('A', 'B')])), Hex, Hex);
        var low = GrammarExpr.Seq(d, GrammarExpr.Utf8(CodePointSet.FromRanges([('c', 'f'), ('C', 'F')])), Hex, Hex);
        return GrammarExpr.Alt(bmp, GrammarExpr.Seq(high, GrammarExpr.Literal("\\u"), low));
    }

    /// <summary>One character of <paramref name="set"/> in its canonical JSON encoding (what JSON.stringify writes).</summary>
    public static GrammarExpr Char(CodePointSet set)
    {
        var alternatives = new List<GrammarExpr>();
        var plain = set.Intersect(GrammarVocabulary.JsonStringPlain);
        if (!plain.IsEmpty) alternatives.Add(GrammarExpr.Utf8(plain));
        if (set.Contains('"')) alternatives.Add(GrammarExpr.Literal("\\\""));
        if (set.Contains('\\')) alternatives.Add(GrammarExpr.Literal("\\\\"));
        foreach (var (lo, hi) in set.Intersect(CodePointSet.Range(0, 0x1F)).Ranges)
        {
            for (int c = lo; c <= hi; c++)
            {
                string escaped = c switch
                {
                    8 => "\\b",
                    9 => "\\t",
                    10 => "\\n",
                    12 => "\\f",
                    13 => "\\r",
                    _ => $"\\u{c:x4}",
                };
                alternatives.Add(GrammarExpr.Literal(escaped));
            }
        }
        return GrammarExpr.Alt(alternatives);
    }

    public static GrammarExpr Quoted(GrammarExpr body) => GrammarExpr.Seq(Quote, body, Quote);

    /// <summary>A string value as compact JSON text (with quotes).</summary>
    public static string Encode(string value) => JsonSerializer.Serialize(value, Relaxed);

    /// <summary>Any JSON value as compact text (enum and const literals).</summary>
    public static string Compact(JsonElement value)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false }))
            value.WriteTo(writer);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
