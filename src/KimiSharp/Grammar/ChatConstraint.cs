namespace KimiSharp.Grammar;

/// <summary>How tool calls are constrained in a chat reply.</summary>
public enum ToolCallMode
{
    /// <summary>No tool calls: every tool-call marker is masked out.</summary>
    None,

    /// <summary>Free text (or the response format) until the model opens a tool-call section.</summary>
    Auto,

    /// <summary>The reply is a tool-call section from the start (after any reasoning).</summary>
    Required,
}

/// <summary>A callable tool: its name and the grammar of its arguments (JSON, then <c>&lt;|tool_call_end|&gt;</c>).</summary>
public sealed record ToolGrammar(string Name, CompiledGrammar Arguments);

/// <summary>What a chat reply must look like.</summary>
public sealed record ChatConstraintOptions
{
    /// <summary>The content's grammar (response_format); null = free text.</summary>
    public CompiledGrammar? Content { get; init; }

    public ToolCallMode ToolCalls { get; init; } = ToolCallMode.None;

    public IReadOnlyList<ToolGrammar> Tools { get; init; } = [];

    /// <summary>Only this tool may be called (a named tool_choice).</summary>
    public string? OnlyTool { get; init; }

    /// <summary>At most one call (parallel_tool_calls: false).</summary>
    public bool SingleCall { get; init; }

    /// <summary>IDX of the first call: the number of calls earlier in the conversation (ids count across it).</summary>
    public int FirstCallIndex { get; init; }

    /// <summary>Text that closes the reasoning block (e.g. "&lt;/think&gt;"); constraints start after it. Null = no reasoning.</summary>
    public string? ReasoningEnd { get; init; }
}

/// <summary>
/// Kimi's reply format enforced token by token: optional reasoning (free until its end marker, or until a tool-call
/// section opens inside it), then content
/// (free text, or the response format's grammar), then optionally one tool-call section:
/// <c>&lt;|tool_calls_section_begin|&gt;</c> ( <c>&lt;|tool_call_begin|&gt;functions.NAME:IDX&lt;|tool_call_argument_begin|&gt;ARGS&lt;|tool_call_end|&gt;</c> )+
/// <c>&lt;|tool_calls_section_end|&gt;</c>, with NAME a declared tool, IDX the next global index and ARGS valid
/// against NAME's schema; then end of generation. Outside the section no tool-call marker can appear.
/// </summary>
public sealed class ChatConstraint : MaskedConstraint
{
    private enum Phase { Reasoning, Content, MustOpen, Section, Header, Arguments, Done }

    private readonly ChatConstraintOptions _options;
    private readonly KimiToolFormat? _format;
    private readonly Dictionary<string, CompiledGrammar> _tools = new(StringComparer.Ordinal);
    private readonly string[] _names;
    private readonly int[] _bannedInText;
    private readonly int[] _bannedInReasoning;
    private readonly int[] _endOfGeneration;
    private readonly bool _endAllowedInText;
    private readonly byte[]? _reasoningEnd;
    private readonly byte[] _recent = new byte[64];
    private int _recentLength;
    private readonly List<byte> _header = [];
    private readonly int[] _allowed = new int[4];
    private int _allowedCount;

    private Phase _phase;
    private GrammarMatcher? _content;
    private GrammarMatcher? _current; // header or arguments
    private int _calls;
    private bool _contentStarted;

    public ChatConstraint(ChatConstraintOptions options, GrammarVocabulary vocabulary, MaskCache? cache = null) : base(vocabulary, cache)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _format = KimiToolFormat.For(vocabulary);
        if (options.ToolCalls != ToolCallMode.None)
        {
            if (_format is null) throw new GrammarException("the vocabulary has no Kimi tool-call markers; tool calls cannot be enforced");
            if (options.Tools.Count == 0) throw new GrammarException("tool calls need at least one tool");
        }
        foreach (var tool in options.Tools) _tools[tool.Name] = tool.Arguments;
        _names = options.OnlyTool is { } only
            ? (_tools.ContainsKey(only) ? [only] : throw new GrammarException($"tool '{only}' is not among the declared tools"))
            : options.Tools.Select(t => t.Name).ToArray();

        var banned = new List<int>();
        if (_format is not null)
            foreach (int marker in _format.Markers)
                if (!(marker == _format.SectionBegin && options.ToolCalls == ToolCallMode.Auto)) banned.Add(marker);
        _bannedInText = banned.ToArray();
        // A section may open inside the reasoning (Kimi-K2-Thinking calls tools mid-thought): that ends the reasoning.
        _bannedInReasoning = options.ToolCalls == ToolCallMode.None ? _bannedInText : _bannedInText.Where(id => id != _format!.SectionBegin).ToArray();
        _endOfGeneration = vocabulary.EndOfGeneration.ToArray();
        _endAllowedInText = options.ToolCalls != ToolCallMode.Required && options.Content is null;
        if (options.ReasoningEnd is { Length: > 0 } end)
        {
            _reasoningEnd = System.Text.Encoding.UTF8.GetBytes(end);
            if (_reasoningEnd.Length > _recent.Length) throw new ArgumentException("the reasoning end marker is too long");
        }
        Start(options.ReasoningEnd is { Length: > 0 } ? Phase.Reasoning : AfterReasoning());
    }

    private Phase AfterReasoning() => _options.ToolCalls == ToolCallMode.Required ? Phase.MustOpen : Phase.Content;

    private void Start(Phase phase)
    {
        _phase = phase;
        if (phase == Phase.Content && _options.Content is { } grammar) _content = new GrammarMatcher(grammar);
    }

    /// <summary>Tool calls completed so far.</summary>
    public int CompletedCalls => _calls;

    /// <summary>The reply is complete: only end of generation may follow.</summary>
    public bool IsDone => _phase == Phase.Done;

    protected override bool NeedsComputedMask => _phase is Phase.Header or Phase.Arguments || (_phase == Phase.Content && _content is not null);

    protected override void ComputeMask()
    {
        ComputeMaskOf(_phase == Phase.Content ? _content! : _current!);
    }

    protected override void CompleteMask()
    {
        if (_phase != Phase.Content) return;
        if (_content!.IsAccepting)
            foreach (int eog in Vocabulary.EndOfGeneration) Mask.Set(eog);
        if (!_contentStarted && _options.ToolCalls == ToolCallMode.Auto) Mask.Set(_format!.SectionBegin);
    }

    protected override void ApplyFixed(Span<float> logits)
    {
        switch (_phase)
        {
            case Phase.Reasoning or Phase.Content:
                foreach (int id in _phase == Phase.Reasoning ? _bannedInReasoning : _bannedInText) logits[id] = float.NegativeInfinity;
                if (!_endAllowedInText)
                    foreach (int eog in Vocabulary.EndOfGeneration) logits[eog] = float.NegativeInfinity;
                return;
            case Phase.MustOpen:
                AllowOnly(logits, _format!.SectionBegin);
                return;
            case Phase.Section:
                _allowedCount = 0;
                if (_calls < (_options.SingleCall ? 1 : int.MaxValue)) _allowed[_allowedCount++] = _format!.CallBegin;
                if (_calls > 0) _allowed[_allowedCount++] = _format!.SectionEnd;
                AllowOnly(logits, _allowed.AsSpan(0, _allowedCount));
                return;
            case Phase.Done:
                AllowOnly(logits, _endOfGeneration);
                return;
        }
    }

    private static void AllowOnly(Span<float> logits, params ReadOnlySpan<int> allowed)
    {
        Span<float> kept = stackalloc float[allowed.Length];
        for (int i = 0; i < allowed.Length; i++) kept[i] = logits[allowed[i]];
        logits.Fill(float.NegativeInfinity);
        for (int i = 0; i < allowed.Length; i++) logits[allowed[i]] = kept[i];
    }

    protected override void Advance(int token)
    {
        if ((uint)token >= (uint)Vocabulary.Size) throw new GrammarException($"token {token} is outside the vocabulary");
        byte[]? bytes = Vocabulary.TokenBytes[token];
        switch (_phase)
        {
            case Phase.Reasoning:
                if (Array.IndexOf(_bannedInReasoning, token) >= 0) throw TokenAdvance.NotAllowed(Vocabulary, token);
                if (_options.ToolCalls != ToolCallMode.None && token == _format!.SectionBegin)
                {
                    _phase = Phase.Section;
                    return;
                }
                Remember(bytes ?? System.Text.Encoding.UTF8.GetBytes(Vocabulary.Describe(token)));
                if (EndsReasoning()) Start(AfterReasoning());
                return;
            case Phase.Content:
                if (_format is not null && token == _format.SectionBegin && _options.ToolCalls == ToolCallMode.Auto && (_content is null || !_contentStarted))
                {
                    _phase = Phase.Section;
                    return;
                }
                if (_content is null)
                {
                    RejectBanned(token);
                    if (Vocabulary.EndOfGeneration.Contains(token)) _phase = Phase.Done;
                }
                else
                {
                    TokenAdvance.Grammar(_content, Vocabulary, token, allowEnd: true);
                    if (Vocabulary.EndOfGeneration.Contains(token)) _phase = Phase.Done;
                }
                _contentStarted = true;
                return;
            case Phase.MustOpen:
                Expect(token, _format!.SectionBegin);
                _phase = Phase.Section;
                return;
            case Phase.Section:
                if (token == _format!.CallBegin && _calls < (_options.SingleCall ? 1 : int.MaxValue))
                {
                    _current = new GrammarMatcher(_format.Header(_names, _options.FirstCallIndex + _calls));
                    _header.Clear();
                    _phase = Phase.Header;
                }
                else if (token == _format.SectionEnd && _calls > 0) _phase = Phase.Done;
                else throw TokenAdvance.NotAllowed(Vocabulary, token);
                return;
            case Phase.Header:
                TokenAdvance.Grammar(_current!, Vocabulary, token, allowEnd: false);
                if (bytes is not null) _header.AddRange(bytes);
                else if (token == _format!.ArgumentBegin)
                {
                    _current = new GrammarMatcher(_tools[KimiToolFormat.NameOf(_header.ToArray())]);
                    _phase = Phase.Arguments;
                }
                return;
            case Phase.Arguments:
                TokenAdvance.Grammar(_current!, Vocabulary, token, allowEnd: false);
                if (token == _format!.CallEnd && bytes is null)
                {
                    _calls++;
                    _current = null;
                    _phase = Phase.Section;
                }
                return;
            case Phase.Done:
                if (!Vocabulary.EndOfGeneration.Contains(token)) throw TokenAdvance.NotAllowed(Vocabulary, token);
                return;
        }
    }

    private void RejectBanned(int token)
    {
        if (Array.IndexOf(_bannedInText, token) >= 0) throw TokenAdvance.NotAllowed(Vocabulary, token);
    }

    private void Expect(int token, int expected)
    {
        if (token != expected) throw TokenAdvance.NotAllowed(Vocabulary, token);
    }

    private void Remember(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length >= _recent.Length)
        {
            bytes[^_recent.Length..].CopyTo(_recent);
            _recentLength = _recent.Length;
            return;
        }
        int keep = Math.Min(_recentLength, _recent.Length - bytes.Length);
        _recent.AsSpan(_recentLength - keep, keep).CopyTo(_recent);
        bytes.CopyTo(_recent.AsSpan(keep));
        _recentLength = keep + bytes.Length;
    }

    private bool EndsReasoning() => _recent.AsSpan(0, _recentLength).EndsWith(_reasoningEnd);
}
