using System.Globalization;
using System.Text;

namespace KimiSharp.Grammar;

/// <summary>
/// llama.cpp's GBNF: <c>name ::= alternatives</c> rules, "literals" (escapes \x.. \u.... \U........ \t \n \r \\ \"),
/// [character classes] with ranges and ^, <c>.</c> (any character), ( groups ), * + ? {m} {m,} {m,n} {,n},
/// # comments; a rule ends at a newline outside parentheses. Characters are Unicode code points matched as UTF-8.
/// Special tokens: <c>&lt;|name|&gt;</c> (any special token by its text) and <c>&lt;[123]&gt;</c> (by id).
/// The start rule is <c>root</c>.
/// </summary>
public sealed class GbnfParser
{
    private readonly string _src;
    private readonly GrammarVocabulary? _vocabulary;
    private readonly GrammarDefinition _def = new();
    private readonly Dictionary<int, int> _firstUse = []; // rule id → position of its first reference
    private readonly HashSet<int> _defined = [];
    private int _pos;

    private GbnfParser(string source, GrammarVocabulary? vocabulary)
    {
        _src = source;
        _vocabulary = vocabulary;
    }

    /// <summary>Parses GBNF text; <paramref name="vocabulary"/> resolves special-token references (none allowed without it).</summary>
    public static GrammarDefinition Parse(string source, GrammarVocabulary? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var parser = new GbnfParser(source, vocabulary);
        parser.ParseRules();
        return parser._def;
    }

    public static CompiledGrammar Compile(string source, GrammarVocabulary? vocabulary = null) => GrammarCompiler.Compile(Parse(source, vocabulary));

    private void ParseRules()
    {
        SkipSpace(newlines: true);
        while (_pos < _src.Length)
        {
            int at = _pos;
            string name = ParseName();
            SkipSpace(newlines: false);
            if (!Match("::=")) throw Error("expected '::=' after the rule name", _pos);
            SkipSpace(newlines: true);
            int id = RuleId(name, at);
            if (!_defined.Add(id)) throw Error($"rule '{name}' is defined twice", at);
            _def.SetBody(id, ParseAlternatives(nested: false));
            if (_pos < _src.Length && _src[_pos] is not ('\n' or '\r'))
                throw Error($"unexpected '{_src[_pos]}'", _pos);
            SkipSpace(newlines: true);
        }
        if (!_def.TryGetRule("root", out int root) || !_defined.Contains(root))
            throw new GrammarException("GBNF: the grammar has no 'root' rule");
        _def.Root = root;
        for (int r = 0; r < _def.RuleCount; r++)
            if (!_defined.Contains(r))
                throw Error($"rule '{_def.RuleName(r)}' is used but never defined", _firstUse[r]);
    }

    private int RuleId(string name, int at)
    {
        if (_def.TryGetRule(name, out int id)) return id;
        id = _def.AddRule(name);
        _firstUse[id] = at;
        return id;
    }

    private GrammarExpr ParseAlternatives(bool nested)
    {
        var alternatives = new List<GrammarExpr> { ParseSequence(nested) };
        while (_pos < _src.Length && _src[_pos] == '|')
        {
            _pos++;
            SkipSpace(newlines: true);
            alternatives.Add(ParseSequence(nested));
        }
        return GrammarExpr.Alt(alternatives);
    }

    private GrammarExpr ParseSequence(bool nested)
    {
        var items = new List<GrammarExpr>();
        while (_pos < _src.Length)
        {
            char c = _src[_pos];
            int at = _pos;
            GrammarExpr item;
            if (c == '"') item = ParseLiteral();
            else if (c == '[') item = ParseClass();
            else if (c == '.') { _pos++; item = GrammarExpr.Utf8(CodePointSet.All); }
            else if (c == '(')
            {
                _pos++;
                SkipSpace(newlines: true);
                item = ParseAlternatives(nested: true);
                if (!Match(")")) throw Error("expected ')'", _pos);
            }
            else if (c == '<') item = ParseToken();
            else if (IsNameChar(c))
            {
                string name = ParseName();
                SkipSpace(newlines: nested);
                if (_src.AsSpan(_pos).StartsWith("::=")) throw Error("missing newline before the next rule", at);
                item = GrammarExpr.Rule(RuleId(name, at));
                items.Add(ParseRepetition(item, at));
                continue;
            }
            else break;
            SkipSpace(newlines: nested);
            items.Add(ParseRepetition(item, at));
        }
        return GrammarExpr.Seq(items);
    }

    private GrammarExpr ParseRepetition(GrammarExpr item, int at)
    {
        while (_pos < _src.Length)
        {
            char c = _src[_pos];
            if (c == '*') { _pos++; item = GrammarExpr.Star(item); }
            else if (c == '+') { _pos++; item = GrammarExpr.Plus(item); }
            else if (c == '?') { _pos++; item = GrammarExpr.Optional(item); }
            else if (c == '{')
            {
                _pos++;
                SkipSpace(newlines: false);
                int min = ParseInt(optional: true) ?? 0;
                int max;
                SkipSpace(newlines: false);
                if (Match(","))
                {
                    SkipSpace(newlines: false);
                    max = ParseInt(optional: true) ?? -1;
                }
                else max = min;
                SkipSpace(newlines: false);
                if (!Match("}")) throw Error("expected '}' to close the repetition", _pos);
                if (max >= 0 && max < min) throw Error($"repetition {{{min},{max}}} has max < min", at);
                item = GrammarExpr.Repeat(item, min, max);
            }
            else break;
            SkipSpace(newlines: false);
        }
        return item;
    }

    private int? ParseInt(bool optional)
    {
        int start = _pos;
        while (_pos < _src.Length && char.IsAsciiDigit(_src[_pos])) _pos++;
        if (_pos == start)
        {
            if (optional) return null;
            throw Error("expected a number", _pos);
        }
        if (!int.TryParse(_src.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n > 100_000)
            throw Error("repetition count too large", start);
        return n;
    }

    private GrammarExpr ParseLiteral()
    {
        int at = _pos++;
        var bytes = new List<byte>();
        Span<byte> utf8 = stackalloc byte[4];
        while (true)
        {
            if (_pos >= _src.Length) throw Error("unterminated string literal", at);
            char c = _src[_pos];
            if (c == '"') { _pos++; break; }
            int cp = c == '\\' ? ParseEscape() : NextCodePoint();
            int n = Utf8Sequences.Encode(cp, utf8);
            for (int i = 0; i < n; i++) bytes.Add(utf8[i]);
        }
        return GrammarExpr.Literal(bytes.ToArray());
    }

    private GrammarExpr ParseClass()
    {
        int at = _pos++;
        bool negate = _pos < _src.Length && _src[_pos] == '^';
        if (negate) _pos++;
        var ranges = new List<(int, int)>();
        while (true)
        {
            if (_pos >= _src.Length) throw Error("unterminated character class", at);
            if (_src[_pos] == ']') { _pos++; break; }
            int lo = _src[_pos] == '\\' ? ParseEscape() : NextCodePoint();
            int hi = lo;
            if (_pos + 1 < _src.Length && _src[_pos] == '-' && _src[_pos + 1] != ']')
            {
                _pos++;
                hi = _src[_pos] == '\\' ? ParseEscape() : NextCodePoint();
                if (hi < lo) throw Error("character range is out of order", at);
            }
            ranges.Add((lo, hi));
        }
        var set = CodePointSet.FromRanges(ranges);
        if (negate) set = set.Complement();
        return GrammarExpr.Utf8(set);
    }

    private GrammarExpr ParseToken()
    {
        int at = _pos;
        int end = _src.IndexOf('>', _pos);
        if (end < 0) throw Error("unterminated token reference", at);
        string text = _src[at..(end + 1)];
        _pos = end + 1;
        if (_vocabulary is null) throw Error($"token reference {text} needs a vocabulary", at);
        if (text.StartsWith("<[", StringComparison.Ordinal) && text.EndsWith("]>", StringComparison.Ordinal))
        {
            if (!int.TryParse(text.AsSpan(2, text.Length - 4), NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id >= _vocabulary.Size)
                throw Error($"token reference {text} is not a token id of the vocabulary", at);
            if (_vocabulary.IsText(id)) return GrammarExpr.Literal(_vocabulary.TokenBytes[id]);
            if (!_vocabulary.SpecialTokens.Values.Contains(id)) throw Error($"token {id} can never be generated", at);
            return GrammarExpr.SpecialToken(id);
        }
        if (_vocabulary.TryGetSpecial(text, out int special)) return GrammarExpr.SpecialToken(special);
        throw Error($"{text} is not a special token of the vocabulary", at);
    }

    private int ParseEscape()
    {
        int at = _pos++;
        if (_pos >= _src.Length) throw Error("unterminated escape", at);
        char c = _src[_pos++];
        switch (c)
        {
            case 'x': return Hex(2, at);
            case 'u': return Hex(4, at);
            case 'U': return Hex(8, at);
            case 't': return '\t';
            case 'n': return '\n';
            case 'r': return '\r';
            case '\\' or '"' or '[' or ']' or '-' or '^' or '/': return c;
            default: throw Error($"unknown escape '\\{c}'", at);
        }
    }

    private int Hex(int digits, int at)
    {
        if (_pos + digits > _src.Length) throw Error("truncated escape", at);
        if (!int.TryParse(_src.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v) || v > CodePointSet.MaxCodePoint)
            throw Error("bad hexadecimal escape", at);
        _pos += digits;
        return v;
    }

    private int NextCodePoint()
    {
        if (Rune.DecodeFromUtf16(_src.AsSpan(_pos), out var rune, out int used) != System.Buffers.OperationStatus.Done)
            throw Error("invalid UTF-16 in the grammar", _pos);
        _pos += used;
        return rune.Value;
    }

    private string ParseName()
    {
        int start = _pos;
        while (_pos < _src.Length && IsNameChar(_src[_pos])) _pos++;
        if (_pos == start) throw Error("expected a rule name", start);
        return _src[start.._pos];
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    private bool Match(string s)
    {
        if (!_src.AsSpan(_pos).StartsWith(s, StringComparison.Ordinal)) return false;
        _pos += s.Length;
        return true;
    }

    private void SkipSpace(bool newlines)
    {
        while (_pos < _src.Length)
        {
            char c = _src[_pos];
            if (c is ' ' or '\t') _pos++;
            else if (c == '#') { while (_pos < _src.Length && _src[_pos] is not ('\n' or '\r')) _pos++; }
            else if (newlines && c is '\n' or '\r') _pos++;
            else break;
        }
    }

    private GrammarException Error(string message, int at)
    {
        int line = 1, col = 1;
        for (int i = 0; i < Math.Min(at, _src.Length); i++)
        {
            if (_src[i] == '\n') { line++; col = 1; }
            else col++;
        }
        return new GrammarException($"GBNF line {line}, column {col}: {message}");
    }
}
