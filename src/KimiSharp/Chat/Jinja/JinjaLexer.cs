using System.Globalization;
using System.Text;

namespace KimiSharp.Chat.Jinja;

/// <summary>
/// Splits a template into text and tag tokens the way Jinja2's lexer does with Hugging Face's settings
/// (trim_blocks, lstrip_blocks, keep_trailing_newline=False): newlines are normalised to "\n", one
/// trailing newline is dropped, '-' strips whitespace beside a tag, '+' disables lstrip/trim.
/// </summary>
internal sealed class JinjaLexer
{
    private static readonly string[] Operators =
        ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "=", ";"];

    private readonly string _src;
    private readonly List<JinjaToken> _tokens = [];
    private readonly int[] _lineStarts;
    private int _pos;
    private bool _lineStarting = true;

    private JinjaLexer(string source)
    {
        _src = NormalizeSource(source);
        var starts = new List<int> { 0 };
        for (int i = 0; i < _src.Length; i++)
        {
            if (_src[i] == '\n') starts.Add(i + 1);
        }
        _lineStarts = [.. starts];
    }

    public static List<JinjaToken> Tokenize(string source)
    {
        var lexer = new JinjaLexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    /// <summary>Python: split on \r\n|\r|\n, drop one empty last line, join with \n.</summary>
    internal static string NormalizeSource(string source)
    {
        string s = source.Replace("\r\n", "\n").Replace('\r', '\n');
        return s.EndsWith('\n') ? s[..^1] : s;
    }

    internal static bool IsPyWhitespace(char c) => char.IsWhiteSpace(c) || (c >= '\x1c' && c <= '\x1f');

    internal static string PyRStrip(string s)
    {
        int end = s.Length;
        while (end > 0 && IsPyWhitespace(s[end - 1])) end--;
        return s[..end];
    }

    private (int Line, int Column) Position(int offset)
    {
        int idx = Array.BinarySearch(_lineStarts, offset);
        if (idx < 0) idx = ~idx - 1;
        return (idx + 1, offset - _lineStarts[idx] + 1);
    }

    private TemplateException Error(string message, int offset)
    {
        var (line, col) = Position(offset);
        return new TemplateException(message, line, col);
    }

    private void Run()
    {
        while (true)
        {
            int idx = FindTagStart(_pos);
            if (idx < 0)
            {
                EmitText(_src[_pos..], _pos);
                break;
            }
            char kind = _src[idx + 1];
            char sign = idx + 2 < _src.Length && (_src[idx + 2] == '-' || _src[idx + 2] == '+') ? _src[idx + 2] : '\0';
            string text = _src[_pos..idx];
            if (sign == '-')
            {
                text = PyRStrip(text);
            }
            else if (sign != '+' && kind != '{')
            {
                int lpos = text.LastIndexOf('\n') + 1;
                if ((lpos > 0 || _lineStarting) && lpos < text.Length && AllWhitespace(text, lpos))
                {
                    text = text[..lpos];
                }
            }
            EmitText(text, _pos);
            int bodyStart = idx + 2 + (sign != '\0' ? 1 : 0);
            switch (kind)
            {
                case '#':
                    LexComment(idx, bodyStart);
                    break;
                case '%' when TryLexRaw(idx, bodyStart):
                    break;
                case '%':
                    LexTag(idx, bodyStart, block: true);
                    break;
                default:
                    LexTag(idx, bodyStart, block: false);
                    break;
            }
        }
        var (l, c) = Position(_src.Length);
        _tokens.Add(new JinjaToken(TokenKind.Eof, "", l, c));
    }

    private static bool AllWhitespace(string s, int from)
    {
        for (int i = from; i < s.Length; i++)
        {
            if (!IsPyWhitespace(s[i])) return false;
        }
        return true;
    }

    private int FindTagStart(int from)
    {
        for (int i = from; i + 1 < _src.Length; i++)
        {
            if (_src[i] == '{' && (_src[i + 1] == '{' || _src[i + 1] == '%' || _src[i + 1] == '#')) return i;
        }
        return -1;
    }

    private void EmitText(string text, int offset)
    {
        if (text.Length == 0) return;
        var (l, c) = Position(offset);
        _tokens.Add(new JinjaToken(TokenKind.Text, text, l, c));
    }

    /// <summary>Advances past a tag end: '-' strips all following whitespace, '+' keeps it, a plain end
    /// drops one following newline when <paramref name="trim"/> (trim_blocks).</summary>
    private void AfterTagEnd(int endPos, char sign, bool trim)
    {
        int p = endPos;
        if (sign == '-')
        {
            while (p < _src.Length && IsPyWhitespace(_src[p])) p++;
        }
        else if (sign != '+' && trim && p < _src.Length && _src[p] == '\n')
        {
            p++;
        }
        _lineStarting = p > 0 && _src[p - 1] == '\n';
        _pos = p;
    }

    private void LexComment(int start, int bodyStart)
    {
        int end = _src.IndexOf("#}", bodyStart, StringComparison.Ordinal);
        if (end < 0) throw Error("Missing end of comment tag", start);
        char sign = end > bodyStart && (_src[end - 1] == '-' || _src[end - 1] == '+') ? _src[end - 1] : '\0';
        AfterTagEnd(end + 2, sign, trim: true);
    }

    private bool TryLexRaw(int start, int bodyStart)
    {
        int p = bodyStart;
        while (p < _src.Length && IsPyWhitespace(_src[p])) p++;
        if (string.CompareOrdinal(_src, p, "raw", 0, 3) != 0) return false;
        p += 3;
        while (p < _src.Length && IsPyWhitespace(_src[p])) p++;
        char beginSign = '\0';
        if (p < _src.Length && _src[p] == '-') { beginSign = '-'; p++; }
        if (string.CompareOrdinal(_src, p, "%}", 0, 2) != 0) return false;
        p += 2;
        if (beginSign == '-')
        {
            while (p < _src.Length && IsPyWhitespace(_src[p])) p++;
        }
        // find {%[-+]?\s*endraw\s*[-+]?%}
        int search = p;
        while (true)
        {
            int tag = _src.IndexOf("{%", search, StringComparison.Ordinal);
            if (tag < 0) throw Error("Missing end of raw directive", start);
            int q = tag + 2;
            char sign = q < _src.Length && (_src[q] == '-' || _src[q] == '+') ? _src[q] : '\0';
            if (sign != '\0') q++;
            while (q < _src.Length && IsPyWhitespace(_src[q])) q++;
            if (string.CompareOrdinal(_src, q, "endraw", 0, 6) != 0) { search = tag + 2; continue; }
            q += 6;
            while (q < _src.Length && IsPyWhitespace(_src[q])) q++;
            char endSign = '\0';
            if (q < _src.Length && (_src[q] == '-' || _src[q] == '+')) { endSign = _src[q]; q++; }
            if (string.CompareOrdinal(_src, q, "%}", 0, 2) != 0) { search = tag + 2; continue; }
            string text = _src[p..tag];
            if (sign == '-')
            {
                text = PyRStrip(text);
            }
            else if (sign != '+')
            {
                int lpos = text.LastIndexOf('\n') + 1;
                if (lpos > 0 && lpos < text.Length && AllWhitespace(text, lpos)) text = text[..lpos];
            }
            EmitText(text, p);
            AfterTagEnd(q + 2, endSign, trim: true);
            return true;
        }
    }

    private void LexTag(int start, int bodyStart, bool block)
    {
        var (line, col) = Position(start);
        _tokens.Add(new JinjaToken(block ? TokenKind.BlockBegin : TokenKind.VariableBegin, block ? "{%" : "{{", line, col));
        int p = bodyStart;
        int depth = 0;
        while (true)
        {
            while (p < _src.Length && IsPyWhitespace(_src[p])) p++;
            if (p >= _src.Length) throw Error(block ? "Unexpected end of template, expected '%}'" : "Unexpected end of template, expected '}}'", start);
            if (depth == 0)
            {
                string end = block ? "%}" : "}}";
                char sign = '\0';
                int endAt = -1;
                if ((_src[p] == '-' || (block && _src[p] == '+')) && string.CompareOrdinal(_src, p + 1, end, 0, 2) == 0)
                {
                    sign = _src[p];
                    endAt = p + 1;
                }
                else if (string.CompareOrdinal(_src, p, end, 0, 2) == 0)
                {
                    endAt = p;
                }
                if (endAt >= 0)
                {
                    var (el, ec) = Position(p);
                    _tokens.Add(new JinjaToken(block ? TokenKind.BlockEnd : TokenKind.VariableEnd, end, el, ec));
                    AfterTagEnd(endAt + 2, sign, trim: block);
                    return;
                }
            }
            p = LexExpressionToken(p, ref depth);
        }
    }

    private int LexExpressionToken(int p, ref int depth)
    {
        var (line, col) = Position(p);
        char c = _src[p];
        if (c == '\'' || c == '"') return LexString(p, line, col);
        if (char.IsAsciiDigit(c)) return LexNumber(p, line, col);
        if (c == '_' || char.IsLetter(c))
        {
            int e = p + 1;
            while (e < _src.Length && (_src[e] == '_' || char.IsLetterOrDigit(_src[e]))) e++;
            _tokens.Add(new JinjaToken(TokenKind.Name, _src[p..e], line, col));
            return e;
        }
        foreach (var op in Operators)
        {
            if (string.CompareOrdinal(_src, p, op, 0, op.Length) == 0)
            {
                if (op is "(" or "[" or "{") depth++;
                else if (op is ")" or "]" or "}")
                {
                    if (depth == 0) throw Error($"unexpected '{op}'", p);
                    depth--;
                }
                _tokens.Add(new JinjaToken(TokenKind.Operator, op, line, col));
                return p + op.Length;
            }
        }
        throw Error($"unexpected char '{c}'", p);
    }

    private int LexNumber(int p, int line, int col)
    {
        int e = DigitsWithUnderscores(p);
        bool isFloat = false;
        if (e + 1 < _src.Length && _src[e] == '.' && char.IsAsciiDigit(_src[e + 1]))
        {
            isFloat = true;
            e = DigitsWithUnderscores(e + 1);
        }
        if (e < _src.Length && (_src[e] == 'e' || _src[e] == 'E'))
        {
            int q = e + 1;
            if (q < _src.Length && (_src[q] == '+' || _src[q] == '-')) q++;
            if (q < _src.Length && char.IsAsciiDigit(_src[q]))
            {
                isFloat = true;
                e = DigitsWithUnderscores(q);
            }
        }
        string text = _src[p..e];
        string clean = text.Replace("_", "");
        if (isFloat)
        {
            _tokens.Add(new JinjaToken(TokenKind.Float, text, line, col, double.Parse(clean, CultureInfo.InvariantCulture)));
        }
        else
        {
            if (!long.TryParse(clean, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
                throw new TemplateException("integer literal too large", line, col);
            _tokens.Add(new JinjaToken(TokenKind.Integer, text, line, col, v));
        }
        return e;
    }

    private int DigitsWithUnderscores(int p)
    {
        int e = p;
        while (e < _src.Length && (char.IsAsciiDigit(_src[e]) || (_src[e] == '_' && e + 1 < _src.Length && char.IsAsciiDigit(_src[e + 1]) && e > p))) e++;
        return e;
    }

    private int LexString(int p, int line, int col)
    {
        char quote = _src[p];
        var sb = new StringBuilder();
        int i = p + 1;
        while (true)
        {
            if (i >= _src.Length) throw new TemplateException("unterminated string literal", line, col);
            char c = _src[i];
            if (c == quote) { i++; break; }
            if (c != '\\') { sb.Append(c); i++; continue; }
            if (i + 1 >= _src.Length) throw new TemplateException("unterminated string literal", line, col);
            char n = _src[i + 1];
            i += 2;
            switch (n)
            {
                case '\n': break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case 'x': i = AppendHexEscape(sb, i, 2, line, col); break;
                case 'u': i = AppendHexEscape(sb, i, 4, line, col); break;
                case 'U': i = AppendHexEscape(sb, i, 8, line, col); break;
                case >= '0' and <= '7':
                    {
                        int v = n - '0';
                        int k = 0;
                        while (k < 2 && i < _src.Length && _src[i] >= '0' && _src[i] <= '7') { v = v * 8 + (_src[i] - '0'); i++; k++; }
                        sb.Append((char)v);
                        break;
                    }
                default: sb.Append('\\').Append(n); break;
            }
        }
        _tokens.Add(new JinjaToken(TokenKind.String, _src[p..i], line, col, sb.ToString()));
        return i;
    }

    private int AppendHexEscape(StringBuilder sb, int i, int digits, int line, int col)
    {
        if (i + digits > _src.Length || !int.TryParse(_src.AsSpan(i, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v)
            || v > 0x10FFFF)
        {
            throw new TemplateException("truncated \\x/\\u escape in string literal", line, col);
        }
        sb.Append(char.ConvertFromUtf32(v >= 0xD800 && v <= 0xDFFF ? 0xFFFD : v));
        return i + digits;
    }
}
