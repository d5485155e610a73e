using System.Globalization;
using System.Text;

namespace KimiSharp.Grammar;

/// <summary>
/// An ECMAScript regular expression subset → <see cref="GrammarExpr"/>: literals, escapes (\d \w \s \D \W \S,
/// \n \t \r \f \v \0, \xHH, \uHHHH, \u{H…}, escaped punctuation), classes [a-z] [^…] with those escapes, <c>.</c>
/// (anything but line terminators), groups ( ) (?: ) (?&lt;name&gt; ), |, and the quantifiers * + ? {n} {n,} {n,m}
/// (lazy forms match the same language). <c>^</c> and <c>$</c> anchor an alternative at the start and end.
/// Backreferences, lookaround and \b are rejected. Each character class goes through <c>encode</c>, so the same
/// parser yields raw UTF-8 (regex grammars) or JSON-string-escaped text (JSON Schema "pattern").
/// </summary>
public sealed class RegexParser
{
    private readonly string _src;
    private readonly Func<CodePointSet, GrammarExpr> _encode;
    private readonly bool _ignoreCase;
    private int _pos;

    private RegexParser(string source, Func<CodePointSet, GrammarExpr> encode, bool ignoreCase)
    {
        _src = source;
        _encode = encode;
        _ignoreCase = ignoreCase;
    }

    private static readonly CodePointSet Digits = CodePointSet.Range('0', '9');
    private static readonly CodePointSet Word = CodePointSet.FromRanges([('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')]);
    private static readonly CodePointSet Space = CodePointSet.FromRanges([(9, 13), (' ', ' '), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
        (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF)]);
    private static readonly CodePointSet LineTerminators = CodePointSet.FromRanges([('\n', '\n'), ('\r', '\r'), (0x2028, 0x2029)]);

    /// <summary>
    /// The language of whole strings matching <paramref name="pattern"/> with ECMAScript search semantics: an
    /// alternative not anchored with ^ (or $) may have anything before (or after) the match.
    /// </summary>
    public static GrammarExpr ParseSearch(string pattern, Func<CodePointSet, GrammarExpr> encode, bool ignoreCase = false)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var parser = new RegexParser(pattern, encode, ignoreCase);
        var anything = GrammarExpr.Star(encode(CodePointSet.All));
        var alternatives = new List<GrammarExpr>();
        while (true)
        {
            bool anchoredStart = parser.Match('^');
            var body = parser.ParseSequence(topLevel: true, out bool anchoredEnd);
            alternatives.Add(GrammarExpr.Seq(anchoredStart ? GrammarExpr.Empty : anything, body, anchoredEnd ? GrammarExpr.Empty : anything));
            if (!parser.Match('|')) break;
        }
        if (parser._pos < pattern.Length) throw parser.Error($"unexpected '{pattern[parser._pos]}'");
        return GrammarExpr.Alt(alternatives);
    }

    /// <summary>The language of strings that match <paramref name="pattern"/> exactly (implicitly anchored at both ends).</summary>
    public static GrammarExpr ParseExact(string pattern, Func<CodePointSet, GrammarExpr> encode, bool ignoreCase = false)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var parser = new RegexParser(pattern, encode, ignoreCase);
        parser.Match('^');
        var expr = parser.ParseAlternatives(topLevel: true);
        if (parser._pos < pattern.Length) throw parser.Error($"unexpected '{pattern[parser._pos]}'");
        return expr;
    }

    /// <summary>A regex grammar over raw UTF-8 text (the whole output must match).</summary>
    public static CompiledGrammar Compile(string pattern)
    {
        var def = new GrammarDefinition();
        def.Root = def.AddRule("root", ParseExact(pattern, GrammarExpr.Utf8));
        return GrammarCompiler.Compile(def);
    }

    private GrammarExpr ParseAlternatives(bool topLevel)
    {
        var alternatives = new List<GrammarExpr>();
        while (true)
        {
            alternatives.Add(ParseSequence(topLevel, out _));
            if (!Match('|')) break;
            if (topLevel) Match('^');
        }
        return GrammarExpr.Alt(alternatives);
    }

    private GrammarExpr ParseSequence(bool topLevel, out bool anchoredEnd)
    {
        anchoredEnd = false;
        var items = new List<GrammarExpr>();
        while (_pos < _src.Length)
        {
            char c = _src[_pos];
            if (c is '|' or ')') break;
            if (c == '$')
            {
                _pos++;
                if (!topLevel || (_pos < _src.Length && _src[_pos] is not '|'))
                    throw Error("'$' is only supported at the end of the pattern");
                anchoredEnd = true;
                break;
            }
            if (c == '^') throw Error("'^' is only supported at the start of the pattern");
            var atom = ParseAtom();
            items.Add(ParseQuantifier(atom));
        }
        return GrammarExpr.Seq(items);
    }

    private GrammarExpr ParseAtom()
    {
        char c = _src[_pos];
        switch (c)
        {
            case '(':
                _pos++;
                if (Match('?'))
                {
                    if (Match(':')) { }
                    else if (Match('<') && _pos < _src.Length && _src[_pos] is not ('=' or '!'))
                    {
                        int close = _src.IndexOf('>', _pos);
                        if (close < 0) throw Error("unterminated group name");
                        _pos = close + 1;
                    }
                    else throw Error("lookaround assertions are not supported");
                }
                var inner = ParseAlternatives(topLevel: false);
                if (!Match(')')) throw Error("expected ')'");
                return inner;
            case '[':
                return Chars(ParseClass());
            case '.':
                _pos++;
                return Chars(LineTerminators.Complement());
            case '\\':
                return ParseEscapeAtom();
            case '*' or '+' or '?' or '{' when c != '{' || IsQuantifierBrace():
                throw Error($"nothing to repeat before '{c}'");
            default:
                return Chars(CodePointSet.Single(NextCodePoint()));
        }
    }

    private GrammarExpr Chars(CodePointSet set) => _encode(_ignoreCase ? set.WithCaseVariants() : set);

    private GrammarExpr ParseEscapeAtom()
    {
        int at = _pos++;
        if (_pos >= _src.Length) throw Error("pattern ends with '\\'");
        char c = _src[_pos];
        if (c == 'b' || c == 'B') throw Error("word boundaries (\\b, \\B) are not supported");
        if (char.IsAsciiDigit(c) && c != '0') throw Error("backreferences are not supported");
        if (c == 'k' && _pos + 1 < _src.Length && _src[_pos + 1] == '<') throw Error("backreferences are not supported");
        _pos = at;
        return Chars(ParseEscapeSet());
    }

    /// <summary>An escape (at '\') as a set: a class escape or a single character.</summary>
    private CodePointSet ParseEscapeSet()
    {
        _pos++;
        char c = _src[_pos++];
        switch (c)
        {
            case 'd': return Digits;
            case 'D': return Digits.Complement();
            case 'w': return Word;
            case 'W': return Word.Complement();
            case 's': return Space;
            case 'S': return Space.Complement();
            case 'n': return CodePointSet.Single('\n');
            case 't': return CodePointSet.Single('\t');
            case 'r': return CodePointSet.Single('\r');
            case 'f': return CodePointSet.Single('\f');
            case 'v': return CodePointSet.Single('\v');
            case '0': return CodePointSet.Single(0);
            case 'x': return CodePointSet.Single(Hex(2));
            case 'u':
                if (Match('{'))
                {
                    int close = _src.IndexOf('}', _pos);
                    if (close < 0) throw Error("unterminated \\u{…}");
                    if (!int.TryParse(_src.AsSpan(_pos, close - _pos), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int cp) || cp > CodePointSet.MaxCodePoint)
                        throw Error("bad \\u{…} escape");
                    _pos = close + 1;
                    return CodePointSet.Single(cp);
                }
                int unit = Hex(4);
                // A surrogate pair written as two \u escapes.
                if (char.IsHighSurrogate((char)unit) && _src.AsSpan(_pos).StartsWith("\\u") && _pos + 6 <= _src.Length
                    && int.TryParse(_src.AsSpan(_pos + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int low) && char.IsLowSurrogate((char)low))
                {
                    _pos += 6;
                    return CodePointSet.Single(char.ConvertToUtf32((char)unit, (char)low));
                }
                return CodePointSet.Single(unit);
            case 'p' or 'P':
                throw Error("Unicode property escapes (\\p{…}) are not supported");
            case 'c':
                if (_pos < _src.Length && char.IsAsciiLetter(_src[_pos])) return CodePointSet.Single(_src[_pos++] % 32);
                throw Error("bad \\c escape");
            default:
                if (char.IsAsciiLetterOrDigit(c)) throw Error($"unknown escape '\\{c}'");
                _pos--;
                return CodePointSet.Single(NextCodePoint());
        }
    }

    private CodePointSet ParseClass()
    {
        _pos++;
        bool negate = Match('^');
        var set = CodePointSet.Empty;
        while (true)
        {
            if (_pos >= _src.Length) throw Error("unterminated character class");
            if (_src[_pos] == ']') { _pos++; break; }
            CodePointSet lo = ClassAtom(out int loChar);
            if (loChar >= 0 && _pos + 1 < _src.Length && _src[_pos] == '-' && _src[_pos + 1] != ']')
            {
                _pos++;
                ClassAtom(out int hiChar);
                if (hiChar < 0) throw Error("a class escape cannot end a range");
                if (hiChar < loChar) throw Error("character range is out of order");
                set = set.Union(CodePointSet.Range(loChar, hiChar));
            }
            else set = set.Union(lo);
        }
        return negate ? set.Complement() : set;
    }

    private CodePointSet ClassAtom(out int single)
    {
        if (_src[_pos] == '\\')
        {
            if (_pos + 1 < _src.Length && _src[_pos + 1] == 'b')
            {
                _pos += 2;
                single = 8;
                return CodePointSet.Single(8);
            }
            var set = ParseEscapeSet();
            single = set.Ranges.Count == 1 && set.Ranges[0].Lo == set.Ranges[0].Hi ? set.Ranges[0].Lo : -1;
            return set;
        }
        single = NextCodePoint();
        return CodePointSet.Single(single);
    }

    private GrammarExpr ParseQuantifier(GrammarExpr atom)
    {
        while (_pos < _src.Length)
        {
            char c = _src[_pos];
            int min, max;
            if (c == '*') { _pos++; min = 0; max = -1; }
            else if (c == '+') { _pos++; min = 1; max = -1; }
            else if (c == '?') { _pos++; min = 0; max = 1; }
            else if (c == '{' && IsQuantifierBrace())
            {
                _pos++;
                min = ReadInt();
                max = min;
                if (Match(',')) max = _src[_pos] == '}' ? -1 : ReadInt();
                if (!Match('}')) throw Error("expected '}'");
                if (max >= 0 && max < min) throw Error("quantifier {n,m} has m < n");
            }
            else break;
            Match('?'); // lazy: same language
            atom = GrammarExpr.Repeat(atom, min, max);
        }
        return atom;
    }

    private bool IsQuantifierBrace()
    {
        int i = _pos + 1;
        int digits = 0;
        while (i < _src.Length && char.IsAsciiDigit(_src[i])) { i++; digits++; }
        if (digits == 0) return false;
        if (i < _src.Length && _src[i] == '}') return true;
        if (i >= _src.Length || _src[i] != ',') return false;
        i++;
        while (i < _src.Length && char.IsAsciiDigit(_src[i])) i++;
        return i < _src.Length && _src[i] == '}';
    }

    private int ReadInt()
    {
        int start = _pos;
        while (_pos < _src.Length && char.IsAsciiDigit(_src[_pos])) _pos++;
        if (!int.TryParse(_src.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n > 100_000)
            throw Error("quantifier count too large");
        return n;
    }

    private int Hex(int digits)
    {
        if (_pos + digits > _src.Length || !int.TryParse(_src.AsSpan(_pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v))
            throw Error("bad hexadecimal escape");
        _pos += digits;
        return v;
    }

    private int NextCodePoint()
    {
        if (Rune.DecodeFromUtf16(_src.AsSpan(_pos), out var rune, out int used) != System.Buffers.OperationStatus.Done)
            throw Error("invalid UTF-16 in the pattern");
        _pos += used;
        return rune.Value;
    }

    private bool Match(char c)
    {
        if (_pos < _src.Length && _src[_pos] == c)
        {
            _pos++;
            return true;
        }
        return false;
    }

    private GrammarException Error(string message) => new($"pattern /{_src}/ at {_pos}: {message}");
}
