namespace KimiSharp.Chat.Jinja;

/// <summary>Recursive-descent parser with Jinja2's grammar and operator precedence
/// (condexpr &lt; or &lt; and &lt; not &lt; compare &lt; +,- &lt; ~ &lt; *,/,//,% &lt; ** &lt; unary &lt; postfix/filters/tests).</summary>
internal sealed class JinjaParser
{
    private readonly List<JinjaToken> _tokens;
    private int _i;
    private int _loopDepth;

    private JinjaParser(List<JinjaToken> tokens) => _tokens = tokens;

    public static IReadOnlyList<Stmt> Parse(string source)
    {
        var parser = new JinjaParser(JinjaLexer.Tokenize(source));
        var body = parser.ParseBody([]);
        if (parser.Current.Kind != TokenKind.Eof) throw Error($"unexpected {parser.Current}", parser.Current);
        JinjaFrameAnalysis.AnalyzeTemplate(body);
        return body;
    }

    private JinjaToken Current => _tokens[_i];

    private JinjaToken Peek(int k = 1) => _tokens[Math.Min(_i + k, _tokens.Count - 1)];

    private JinjaToken Next() => _tokens[_i++ < _tokens.Count - 1 ? _i - 1 : _tokens.Count - 1];

    private static TemplateException Error(string message, JinjaToken at) => new(message, at.Line, at.Column);

    private JinjaToken ExpectOp(string op)
    {
        if (!Current.IsOp(op)) throw Error($"expected '{op}', got {Current}", Current);
        return Next();
    }

    private JinjaToken ExpectName()
    {
        if (Current.Kind != TokenKind.Name) throw Error($"expected a name, got {Current}", Current);
        return Next();
    }

    private void ExpectBlockEnd()
    {
        if (Current.Kind != TokenKind.BlockEnd) throw Error($"expected end of statement block, got {Current}", Current);
        Next();
    }

    private bool SkipOp(string op)
    {
        if (!Current.IsOp(op)) return false;
        Next();
        return true;
    }

    private bool SkipName(string name)
    {
        if (!Current.IsName(name)) return false;
        Next();
        return true;
    }

    /// <summary>Parses statements until a block tag whose first name is one of <paramref name="endNames"/>;
    /// stops with that name as the current token.</summary>
    private List<Stmt> ParseBody(string[] endNames)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Eof:
                    if (endNames.Length > 0)
                        throw Error($"Unexpected end of template. Jinja was looking for the following tags: {string.Join(" or ", endNames.Select(n => $"'{n}'"))}.", t);
                    return body;
                case TokenKind.Text:
                    Next();
                    body.Add(new TextStmt(t.Value, t.Line, t.Column));
                    break;
                case TokenKind.VariableBegin:
                    Next();
                    var e = ParseTuple(withCondExpr: true, explicitParens: false);
                    if (Current.Kind != TokenKind.VariableEnd) throw Error($"expected '}}}}', got {Current}", Current);
                    Next();
                    body.Add(new OutputStmt(e, t.Line, t.Column));
                    break;
                case TokenKind.BlockBegin:
                    Next();
                    if (Current.Kind == TokenKind.Name && endNames.Contains(Current.Value)) return body;
                    body.Add(ParseStatement(t));
                    break;
                default:
                    throw Error($"unexpected {t}", t);
            }
        }
    }

    private Stmt ParseStatement(JinjaToken begin)
    {
        Enter(begin);
        try
        {
            return ParseStatementCore(begin);
        }
        finally
        {
            _depth--;
        }
    }

    private Stmt ParseStatementCore(JinjaToken begin)
    {
        var name = Current;
        if (name.Kind != TokenKind.Name) throw Error("tag name expected", name);
        Next();
        switch (name.Value)
        {
            case "if": return ParseIf(begin);
            case "for": return ParseFor(begin);
            case "set": return ParseSet(begin);
            case "macro": return ParseMacro(begin);
            case "call": return ParseCallBlock(begin);
            case "filter": return ParseFilterBlock(begin);
            case "with": return ParseWith(begin);
            case "generation":
                {
                    // Hugging Face's AssistantTracker extension: the block renders its body (it only records offsets)
                    ExpectBlockEnd();
                    var body = ParseBody(["endgeneration"]);
                    ExpectEnd("endgeneration");
                    return new WithStmt([], body, begin.Line, begin.Column);
                }
            case "break" or "continue":
                if (_loopDepth == 0) throw Error($"'{name.Value}' outside of a loop", name);
                ExpectBlockEnd();
                return name.Value == "break" ? new BreakStmt(begin.Line, begin.Column) : new ContinueStmt(begin.Line, begin.Column);
            case "include" or "import" or "from" or "extends" or "block":
                throw Error($"'{name.Value}' is not supported: templates cannot load other templates", name);
            default:
                throw Error($"Encountered unknown tag '{name.Value}'.", name);
        }
    }

    private void ExpectEnd(string endName)
    {
        // current token is the end name (ParseBody stopped on it)
        Next();
        ExpectBlockEnd();
        _ = endName;
    }

    private IfStmt ParseIf(JinjaToken begin)
    {
        var branches = new List<(Expr, IReadOnlyList<Stmt>)>();
        IReadOnlyList<Stmt> elseBody = [];
        var test = ParseTuple(withCondExpr: false, explicitParens: false);
        ExpectBlockEnd();
        while (true)
        {
            var body = ParseBody(["elif", "else", "endif"]);
            branches.Add((test, body));
            var tag = Next();
            if (tag.Value == "elif")
            {
                test = ParseTuple(withCondExpr: false, explicitParens: false);
                ExpectBlockEnd();
                continue;
            }
            if (tag.Value == "else")
            {
                ExpectBlockEnd();
                elseBody = ParseBody(["endif"]);
                ExpectEnd("endif");
            }
            else
            {
                ExpectBlockEnd();
            }
            return new IfStmt(branches, elseBody, begin.Line, begin.Column);
        }
    }

    private ForStmt ParseFor(JinjaToken begin)
    {
        var target = ParseAssignTarget(allowNamespace: false, extraEnd: "in");
        if (!SkipName("in")) throw Error($"expected 'in', got {Current}", Current);
        var iter = ParseTuple(withCondExpr: false, explicitParens: false, extraEnd: "recursive");
        Expr? filter = null;
        if (SkipName("if")) filter = ParseExpression(withCondExpr: true);
        bool recursive = SkipName("recursive");
        ExpectBlockEnd();
        _loopDepth++;
        var body = ParseBody(["endfor", "else"]);
        _loopDepth--;
        IReadOnlyList<Stmt> elseBody = [];
        if (Next().Value == "else")
        {
            ExpectBlockEnd();
            elseBody = ParseBody(["endfor"]);
            ExpectEnd("endfor");
        }
        else
        {
            ExpectBlockEnd();
        }
        if (recursive) throw Error("recursive for loops are not supported", begin);
        return new ForStmt(target, iter, filter, body, elseBody, recursive, begin.Line, begin.Column);
    }

    private Stmt ParseSet(JinjaToken begin)
    {
        var target = ParseAssignTarget(allowNamespace: true, extraEnd: null);
        if (SkipOp("="))
        {
            var value = ParseTuple(withCondExpr: true, explicitParens: false);
            ExpectBlockEnd();
            return new SetStmt(target, value, begin.Line, begin.Column);
        }
        var filters = new List<FilterExpr>();
        while (Current.IsOp("|"))
        {
            Next();
            filters.Add(ParseFilterTail(null));
        }
        ExpectBlockEnd();
        var body = ParseBody(["endset"]);
        ExpectEnd("endset");
        return new SetBlockStmt(target, body, filters, begin.Line, begin.Column);
    }

    private List<MacroParam> ParseSignature()
    {
        var ps = new List<MacroParam>();
        ExpectOp("(");
        while (!Current.IsOp(")"))
        {
            if (ps.Count > 0) ExpectOp(",");
            if (Current.IsOp(")")) break;
            var n = ExpectName();
            Expr? def = null;
            if (SkipOp("=")) def = ParseExpression(withCondExpr: true);
            else if (ps.Count > 0 && ps[^1].Default != null) throw Error("non-default argument follows default argument", n);
            ps.Add(new MacroParam(n.Value, def));
        }
        ExpectOp(")");
        return ps;
    }

    private MacroStmt ParseMacro(JinjaToken begin)
    {
        var name = ExpectName();
        var ps = ParseSignature();
        ExpectBlockEnd();
        int saved = _loopDepth;
        _loopDepth = 0;
        var body = ParseBody(["endmacro"]);
        _loopDepth = saved;
        ExpectEnd("endmacro");
        return new MacroStmt(name.Value, ps, body, begin.Line, begin.Column);
    }

    private CallBlockStmt ParseCallBlock(JinjaToken begin)
    {
        List<MacroParam> callerParams = Current.IsOp("(") ? ParseSignature() : [];
        var expr = ParseExpression(withCondExpr: true);
        if (expr is not CallExpr call) throw Error("expected call", begin);
        ExpectBlockEnd();
        int saved = _loopDepth;
        _loopDepth = 0;
        var body = ParseBody(["endcall"]);
        _loopDepth = saved;
        ExpectEnd("endcall");
        return new CallBlockStmt(call, callerParams, body, begin.Line, begin.Column);
    }

    private FilterBlockStmt ParseFilterBlock(JinjaToken begin)
    {
        var filters = new List<FilterExpr> { ParseFilterTail(null) };
        while (SkipOp("|")) filters.Add(ParseFilterTail(null));
        ExpectBlockEnd();
        var body = ParseBody(["endfilter"]);
        ExpectEnd("endfilter");
        return new FilterBlockStmt(filters, body, begin.Line, begin.Column);
    }

    private WithStmt ParseWith(JinjaToken begin)
    {
        var assigns = new List<(Expr, Expr)>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (assigns.Count > 0) ExpectOp(",");
            var target = ParseAssignTarget(allowNamespace: false, extraEnd: null);
            ExpectOp("=");
            assigns.Add((target, ParseExpression(withCondExpr: true)));
        }
        ExpectBlockEnd();
        var body = ParseBody(["endwith"]);
        ExpectEnd("endwith");
        return new WithStmt(assigns, body, begin.Line, begin.Column);
    }

    private Expr ParseAssignTarget(bool allowNamespace, string? extraEnd)
    {
        var t = Current;
        if (allowNamespace && t.Kind == TokenKind.Name && Peek().IsOp("."))
        {
            Next();
            Next();
            var attr = ExpectName();
            return new GetAttrExpr(new NameExpr(t.Value, t.Line, t.Column), attr.Value, t.Line, t.Column);
        }
        var items = new List<Expr>();
        bool isTuple = false;
        bool parens = SkipOp("(");
        while (true)
        {
            if (items.Count > 0)
            {
                if (!SkipOp(",")) break;
                isTuple = true;
            }
            if (Current.Kind != TokenKind.Name || (extraEnd != null && Current.IsName(extraEnd))) break;
            var n = Next();
            if (n.Value is "true" or "false" or "none" or "True" or "False" or "None") throw Error($"can't assign to '{n.Value}'", n);
            items.Add(new NameExpr(n.Value, n.Line, n.Column));
            if (!Current.IsOp(",")) break;
        }
        if (parens) { ExpectOp(")"); isTuple = isTuple || items.Count != 1; }
        if (items.Count == 0) throw Error($"expected a name, got {Current}", Current);
        return isTuple ? new TupleExpr(items, t.Line, t.Column) : items[0];
    }

    private bool IsTupleEnd(string? extraEnd) =>
        Current.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd or TokenKind.Eof
        || Current.IsOp(")")
        || (extraEnd != null && Current.IsName(extraEnd));

    private Expr ParseTuple(bool withCondExpr, bool explicitParens, string? extraEnd = null)
    {
        var start = Current;
        var items = new List<Expr>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) ExpectOp(",");
            if (IsTupleEnd(extraEnd)) break;
            items.Add(ParseExpression(withCondExpr));
            if (Current.IsOp(",")) isTuple = true;
            else break;
        }
        if (!isTuple)
        {
            if (items.Count == 1) return items[0];
            if (!explicitParens) throw Error($"Expected an expression, got {Current}", Current);
        }
        return new TupleExpr(items, start.Line, start.Column);
    }

    /// <summary>Nesting limit for expressions and blocks, so hostile templates cannot exhaust the stack.</summary>
    public const int MaxNesting = 200;

    private int _depth;

    private void Enter(JinjaToken at)
    {
        if (++_depth > MaxNesting) throw Error($"template nesting deeper than {MaxNesting} levels", at);
    }

    private Expr ParseExpression(bool withCondExpr)
    {
        Enter(Current);
        try
        {
            return withCondExpr ? ParseCondExpr() : ParseOr();
        }
        finally
        {
            _depth--;
        }
    }

    private Expr ParseCondExpr()
    {
        var expr = ParseOr();
        while (Current.IsName("if"))
        {
            var t = Next();
            var test = ParseOr();
            Expr? otherwise = SkipName("else") ? ParseCondExpr() : null;
            expr = new CondExpr(test, expr, otherwise, t.Line, t.Column);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or"))
        {
            var t = Next();
            left = new BinaryExpr("or", left, ParseAnd(), t.Line, t.Column);
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and"))
        {
            var t = Next();
            left = new BinaryExpr("and", left, ParseNot(), t.Line, t.Column);
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (Current.IsName("not"))
        {
            var t = Next();
            Enter(t);
            try
            {
                return new UnaryExpr("not", ParseNot(), t.Line, t.Column);
            }
            finally
            {
                _depth--;
            }
        }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            var t = Current;
            if (t.Kind == TokenKind.Operator && t.Value is "==" or "!=" or "<" or "<=" or ">" or ">=")
            {
                Next();
                rest.Add((t.Value, ParseMath1()));
            }
            else if (t.IsName("in"))
            {
                Next();
                rest.Add(("in", ParseMath1()));
            }
            else if (t.IsName("not") && Peek().IsName("in"))
            {
                Next();
                Next();
                rest.Add(("notin", ParseMath1()));
            }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, rest, first.Line, first.Column);
    }

    private Expr ParseMath1()
    {
        var left = ParseConcat();
        while (Current.IsOp("+") || Current.IsOp("-"))
        {
            var t = Next();
            left = new BinaryExpr(t.Value, left, ParseConcat(), t.Line, t.Column);
        }
        return left;
    }

    private Expr ParseConcat()
    {
        var first = ParseMath2();
        if (!Current.IsOp("~")) return first;
        var parts = new List<Expr> { first };
        while (SkipOp("~")) parts.Add(ParseMath2());
        return new ConcatExpr(parts, first.Line, first.Column);
    }

    private Expr ParseMath2()
    {
        var left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            var t = Next();
            left = new BinaryExpr(t.Value, left, ParsePow(), t.Line, t.Column);
        }
        return left;
    }

    private Expr ParsePow()
    {
        var left = ParseUnary(withFilter: true);
        while (Current.IsOp("**"))
        {
            var t = Next();
            left = new BinaryExpr("**", left, ParseUnary(withFilter: true), t.Line, t.Column);
        }
        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        var t = Current;
        Expr node;
        if (t.IsOp("-") || t.IsOp("+"))
        {
            Next();
            Enter(t);
            try
            {
                node = new UnaryExpr(t.Value, ParseUnary(withFilter: false), t.Line, t.Column);
            }
            finally
            {
                _depth--;
            }
        }
        else
        {
            node = ParsePrimary();
        }
        node = ParsePostfix(node);
        if (withFilter) node = ParseFilterExpr(node);
        return node;
    }

    private Expr ParsePrimary()
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                Next();
                return t.Value switch
                {
                    "true" or "True" => new LiteralExpr(true, t.Line, t.Column),
                    "false" or "False" => new LiteralExpr(false, t.Line, t.Column),
                    "none" or "None" => new LiteralExpr(null, t.Line, t.Column),
                    _ => new NameExpr(t.Value, t.Line, t.Column),
                };
            case TokenKind.String:
                {
                    Next();
                    string s = (string)t.Literal!;
                    while (Current.Kind == TokenKind.String) s += (string)Next().Literal!;
                    return new LiteralExpr(s, t.Line, t.Column);
                }
            case TokenKind.Integer:
            case TokenKind.Float:
                Next();
                return new LiteralExpr(t.Literal, t.Line, t.Column);
            case TokenKind.Operator when t.Value == "(":
                {
                    Next();
                    var e = ParseTuple(withCondExpr: true, explicitParens: true);
                    ExpectOp(")");
                    return e;
                }
            case TokenKind.Operator when t.Value == "[":
                {
                    Next();
                    var items = new List<Expr>();
                    while (!Current.IsOp("]"))
                    {
                        if (items.Count > 0) ExpectOp(",");
                        if (Current.IsOp("]")) break;
                        items.Add(ParseExpression(withCondExpr: true));
                    }
                    ExpectOp("]");
                    return new ListExpr(items, t.Line, t.Column);
                }
            case TokenKind.Operator when t.Value == "{":
                {
                    Next();
                    var items = new List<(Expr, Expr)>();
                    while (!Current.IsOp("}"))
                    {
                        if (items.Count > 0) ExpectOp(",");
                        if (Current.IsOp("}")) break;
                        var k = ParseExpression(withCondExpr: true);
                        ExpectOp(":");
                        items.Add((k, ParseExpression(withCondExpr: true)));
                    }
                    ExpectOp("}");
                    return new DictExpr(items, t.Line, t.Column);
                }
            default:
                throw Error($"unexpected {t}", t);
        }
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            var t = Current;
            if (t.IsOp("."))
            {
                Next();
                var a = Current;
                if (a.Kind == TokenKind.Name) { Next(); node = new GetAttrExpr(node, a.Value, node.Line, node.Column); }
                else if (a.Kind == TokenKind.Integer) { Next(); node = new GetItemExpr(node, new LiteralExpr(a.Literal, a.Line, a.Column), node.Line, node.Column); }
                else throw Error("expected name or number", a);
            }
            else if (t.IsOp("["))
            {
                Next();
                var args = new List<Expr>();
                while (!Current.IsOp("]"))
                {
                    if (args.Count > 0) ExpectOp(",");
                    args.Add(ParseSubscribed());
                }
                ExpectOp("]");
                if (args.Count == 0) throw Error("expected subscript expression", t);
                node = new GetItemExpr(node, args.Count == 1 ? args[0] : new TupleExpr(args, t.Line, t.Column), node.Line, node.Column);
            }
            else if (t.IsOp("("))
            {
                node = new CallExpr(node, ParseCallArgs(), node.Line, node.Column);
            }
            else return node;
        }
    }

    private Expr ParseSubscribed()
    {
        var t = Current;
        Expr? start = null;
        if (!Current.IsOp(":"))
        {
            var e = ParseExpression(withCondExpr: true);
            if (!Current.IsOp(":")) return e;
            start = e;
        }
        Next(); // ':'
        Expr? stop = null, step = null;
        if (!Current.IsOp("]") && !Current.IsOp(",") && !Current.IsOp(":")) stop = ParseExpression(withCondExpr: true);
        if (SkipOp(":"))
        {
            if (!Current.IsOp("]") && !Current.IsOp(",")) step = ParseExpression(withCondExpr: true);
        }
        return new SliceExpr(start, stop, step, t.Line, t.Column);
    }

    private CallArgs ParseCallArgs()
    {
        ExpectOp("(");
        var pos = new List<Expr>();
        var kw = new List<(string, Expr)>();
        Expr? star = null, starstar = null;
        bool first = true;
        while (!Current.IsOp(")"))
        {
            if (!first) ExpectOp(",");
            first = false;
            if (Current.IsOp(")")) break;
            if (Current.IsOp("*")) { Next(); star = ParseExpression(withCondExpr: true); continue; }
            if (Current.IsOp("**")) { Next(); starstar = ParseExpression(withCondExpr: true); continue; }
            if (Current.Kind == TokenKind.Name && Peek().IsOp("="))
            {
                var n = Next();
                Next();
                kw.Add((n.Value, ParseExpression(withCondExpr: true)));
                continue;
            }
            if (kw.Count > 0) throw Error("positional argument follows keyword argument", Current);
            pos.Add(ParseExpression(withCondExpr: true));
        }
        ExpectOp(")");
        return new CallArgs(pos, kw, star, starstar);
    }

    private Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            if (Current.IsOp("|"))
            {
                Next();
                node = ParseFilterTail(node);
            }
            else if (Current.IsName("is"))
            {
                node = ParseTest(node);
            }
            else if (Current.IsOp("("))
            {
                var t = Current;
                node = new CallExpr(node, ParseCallArgs(), t.Line, t.Column);
            }
            else return node;
        }
    }

    private FilterExpr ParseFilterTail(Expr? input)
    {
        var n = ExpectName();
        string name = n.Value;
        while (Current.IsOp(".") && Peek().Kind == TokenKind.Name)
        {
            Next();
            name += "." + Next().Value;
        }
        var args = Current.IsOp("(") ? ParseCallArgs() : CallArgs.Empty;
        return new FilterExpr(input, name, args, n.Line, n.Column);
    }

    private Expr ParseTest(Expr node)
    {
        var isTok = Next();
        bool negated = SkipName("not");
        var n = ExpectName();
        string name = n.Value;
        while (Current.IsOp(".") && Peek().Kind == TokenKind.Name)
        {
            Next();
            name += "." + Next().Value;
        }
        CallArgs args;
        if (Current.IsOp("("))
        {
            args = ParseCallArgs();
        }
        else if ((Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                  || Current.IsOp("[") || Current.IsOp("{") || Current.IsOp("("))
                 && !Current.IsName("else") && !Current.IsName("or") && !Current.IsName("and"))
        {
            if (Current.IsName("is")) throw Error("You cannot chain multiple tests with is", Current);
            var arg = ParsePostfix(ParsePrimary());
            args = new CallArgs([arg], [], null, null);
        }
        else
        {
            args = CallArgs.Empty;
        }
        Expr test = new TestExpr(node, name, args, isTok.Line, isTok.Column);
        return negated ? new UnaryExpr("not", test, isTok.Line, isTok.Column) : test;
    }
}
