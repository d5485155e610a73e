using System.Text;
using System.Text.Json;

namespace KimiSharp.Chat;

/// <summary>
/// Incremental parser for Kimi-K2's native tool-call format (one instance per request). Feed it the decoded
/// text of the generated tokens, marker tokens included:
/// <c>text &lt;|tool_calls_section_begin|&gt; (&lt;|tool_call_begin|&gt; id &lt;|tool_call_argument_begin|&gt; json &lt;|tool_call_end|&gt;)* &lt;|tool_calls_section_end|&gt;</c>.
/// Rules: text before the section is content; several calls per section; ids with or without
/// <c>functions.</c>, names keep dots and dashes, whitespace/newlines around ids are ignored; arguments are the
/// raw text between the markers, validated as JSON, double-encoded strings unwrapped; a missing section end
/// (EOS, max tokens) still yields every complete call; the singular <c>&lt;|tool_call_section_begin|&gt;</c> is
/// accepted; markers never reach content (a marker split across pushes is held back until it is decided).
/// Any chunking of the same text yields the same content, calls and arguments.
/// </summary>
public sealed class ToolCallParser
{
    public const string SectionBegin = "<|tool_calls_section_begin|>";
    public const string SectionBeginSingular = "<|tool_call_section_begin|>";
    public const string SectionEnd = "<|tool_calls_section_end|>";
    public const string SectionEndSingular = "<|tool_call_section_end|>";
    public const string CallBegin = "<|tool_call_begin|>";
    public const string ArgumentBegin = "<|tool_call_argument_begin|>";
    public const string CallEnd = "<|tool_call_end|>";

    private const int MaxIdLength = 4096;

    private static readonly string[] Markers = [SectionBegin, SectionBeginSingular, SectionEnd, SectionEndSingular, CallBegin, ArgumentBegin, CallEnd];

    private enum State { Content, Section, Id, Arguments }

    private enum ArgsMode { Undecided, Streaming, Buffered }

    private readonly StringBuilder _pending = new();
    private readonly StringBuilder _id = new();
    private readonly StringBuilder _args = new();
    private List<ToolCallParserEvent> _events = [];
    private State _state = State.Content;
    private ArgsMode _argsMode;
    private int _argsEmitted;
    private int _callIndex = -1;
    private string _callId = "";
    private string _callName = "";
    private bool _finished;

    /// <summary>Number of calls completed so far.</summary>
    public int CompletedCalls { get; private set; }

    /// <summary>Parses a whole response at once.</summary>
    public static IReadOnlyList<ToolCallParserEvent> ParseAll(string text)
    {
        var p = new ToolCallParser();
        var events = new List<ToolCallParserEvent>(p.Push(text));
        events.AddRange(p.Finish());
        return events;
    }

    public IReadOnlyList<ToolCallParserEvent> Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_finished) throw new InvalidOperationException("the parser has finished; use a new parser per request");
        _pending.Append(text);
        Process(final: false);
        return TakeEvents();
    }

    /// <summary>End of generation: flushes held-back text and completes or discards an open call.</summary>
    public IReadOnlyList<ToolCallParserEvent> Finish()
    {
        if (_finished) return [];
        Process(final: true);
        switch (_state)
        {
            case State.Id:
                _id.Clear();
                break;
            case State.Arguments:
                EndCall(requireValidJson: true, reason: "the response ended before the tool call was complete");
                break;
        }
        _state = State.Content;
        _finished = true;
        return TakeEvents();
    }

    private List<ToolCallParserEvent> TakeEvents()
    {
        var e = _events;
        _events = [];
        return e;
    }

    private void Process(bool final)
    {
        while (_pending.Length > 0)
        {
            string buffer = _pending.ToString();
            int at = FindMarker(buffer, out string? marker);
            if (at < 0)
            {
                int keep = final ? 0 : PartialMatch.HeldSuffixLength(buffer, Markers);
                Consume(buffer[..^keep]);
                _pending.Clear().Append(buffer, buffer.Length - keep, keep);
                return;
            }
            Consume(buffer[..at]);
            _pending.Remove(0, at + marker!.Length);
            OnMarker(marker);
        }
    }

    private static int FindMarker(string s, out string? marker)
    {
        marker = null;
        int best = -1;
        int from = 0;
        while (true)
        {
            int lt = s.IndexOf("<|", from, StringComparison.Ordinal);
            if (lt < 0) return best;
            foreach (var m in Markers)
            {
                if (string.CompareOrdinal(s, lt, m, 0, m.Length) == 0)
                {
                    marker = m;
                    return lt;
                }
            }
            from = lt + 1;
        }
    }

    private void Consume(string text)
    {
        if (text.Length == 0) return;
        switch (_state)
        {
            case State.Content:
                Emit(new ContentDelta(text));
                break;
            case State.Section:
                break; // whitespace between calls
            case State.Id:
                _id.Append(text, 0, Math.Min(text.Length, MaxIdLength - _id.Length)); // capped, independent of chunking
                break;
            case State.Arguments:
                _args.Append(text);
                StreamArguments();
                break;
        }
    }

    private void Emit(ToolCallParserEvent e)
    {
        // coalesce neighbouring deltas so chunking does not change the event list
        if (_events.Count > 0)
        {
            if (e is ContentDelta c && _events[^1] is ContentDelta prev)
            {
                _events[^1] = new ContentDelta(prev.Text + c.Text);
                return;
            }
            if (e is ToolCallArgumentsDelta a && _events[^1] is ToolCallArgumentsDelta pa && pa.Index == a.Index)
            {
                _events[^1] = new ToolCallArgumentsDelta(a.Index, pa.Fragment + a.Fragment);
                return;
            }
        }
        _events.Add(e);
    }

    private void OnMarker(string marker)
    {
        bool sectionBegin = marker is SectionBegin or SectionBeginSingular;
        bool sectionEnd = marker is SectionEnd or SectionEndSingular;
        switch (_state)
        {
            case State.Content:
                if (sectionBegin) _state = State.Section;
                else if (marker == CallBegin) BeginId();
                break; // stray markers are dropped
            case State.Section:
                if (marker == CallBegin) BeginId();
                else if (sectionEnd) _state = State.Content;
                break;
            case State.Id:
                if (marker == ArgumentBegin) BeginArguments();
                else if (marker == CallBegin) BeginId();
                else if (marker == CallEnd) { _id.Clear(); _state = State.Section; }
                else if (sectionEnd) { _id.Clear(); _state = State.Content; }
                break;
            case State.Arguments:
                if (marker == CallEnd)
                {
                    EndCall(requireValidJson: false, reason: "");
                    _state = State.Section;
                }
                else if (marker == CallBegin)
                {
                    EndCall(requireValidJson: true, reason: "a new tool call began before the previous one ended");
                    BeginId();
                }
                else if (sectionEnd)
                {
                    EndCall(requireValidJson: true, reason: "the tool call section ended inside a call");
                    _state = State.Content;
                }
                break;
        }
    }

    private void BeginId()
    {
        _id.Clear();
        _state = State.Id;
    }

    private void BeginArguments()
    {
        (_callId, _callName) = ParseId(_id.ToString());
        _id.Clear();
        _callIndex = CompletedCalls + DiscardedCalls;
        _args.Clear();
        _argsMode = ArgsMode.Undecided;
        _argsEmitted = 0;
        _state = State.Arguments;
        Emit(new ToolCallStarted(_callIndex, _callId, _callName));
    }

    private int DiscardedCalls { get; set; }

    /// <summary>Id grammar (lenient): optional "functions." prefix, name up to the last ':', then digits;
    /// whitespace around is ignored; names keep dots and dashes.</summary>
    public static (string Id, string Name) ParseId(string raw)
    {
        string id = raw.Trim();
        string name = id.StartsWith("functions.", StringComparison.Ordinal) ? id["functions.".Length..] : id;
        int colon = name.LastIndexOf(':');
        if (colon > 0 && colon < name.Length - 1 && name.AsSpan(colon + 1).IndexOfAnyExceptInRange('0', '9') < 0) name = name[..colon];
        return (id, name.Trim());
    }

    private static bool IsJsonWhitespace(char c) => c is ' ' or '\t' or '\n' or '\r';

    /// <summary>Streams argument text that starts a JSON object/array, minus leading and (held) trailing
    /// whitespace, so the fragments always concatenate to the final trimmed arguments. Anything else
    /// (e.g. a double-encoded string) is buffered and sent whole at the end.</summary>
    private void StreamArguments()
    {
        int start = 0;
        while (start < _args.Length && IsJsonWhitespace(_args[start])) start++;
        if (start == _args.Length) return;
        if (_argsMode == ArgsMode.Undecided) _argsMode = _args[start] is '{' or '[' ? ArgsMode.Streaming : ArgsMode.Buffered;
        if (_argsMode != ArgsMode.Streaming) return;
        int end = _args.Length;
        while (end > start && IsJsonWhitespace(_args[end - 1])) end--;
        int emitUpTo = end - start;
        if (emitUpTo > _argsEmitted)
        {
            Emit(new ToolCallArgumentsDelta(_callIndex, _args.ToString(start + _argsEmitted, emitUpTo - _argsEmitted)));
            _argsEmitted = emitUpTo;
        }
    }

    private void EndCall(bool requireValidJson, string reason)
    {
        string raw = _args.ToString().Trim(' ', '\t', '\n', '\r');
        _args.Clear();
        var (arguments, error) = NormalizeArguments(raw);
        if (requireValidJson && error != null)
        {
            DiscardedCalls++;
            Emit(new ToolCallDiscarded(_callIndex, reason));
            return;
        }
        if (_argsMode == ArgsMode.Streaming)
        {
            if (arguments.Length > _argsEmitted) Emit(new ToolCallArgumentsDelta(_callIndex, arguments[_argsEmitted..]));
        }
        else if (arguments.Length > 0)
        {
            Emit(new ToolCallArgumentsDelta(_callIndex, arguments));
        }
        CompletedCalls++;
        Emit(new ToolCallCompleted(_callIndex, new ToolCall(_callId, _callName, arguments), error));
    }

    /// <summary>Validates trimmed argument text as JSON; a JSON string holding a JSON object/array is unwrapped.
    /// Empty arguments become "{}".</summary>
    public static (string Arguments, string? Error) NormalizeArguments(string raw)
    {
        if (raw.Length == 0) return ("{}", null);
        try
        {
            using var doc = JsonDocument.Parse(raw);
            if (doc.RootElement.ValueKind == JsonValueKind.String) return (ChatHistoryNormalizer.UnwrapArguments(raw), null);
            return (raw, null);
        }
        catch (JsonException ex)
        {
            return (raw, "arguments are not valid JSON: " + ex.Message);
        }
    }
}
