using System.Text;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.OpenAi.Responses;

/// <summary>
/// Builds a response from a generation run, one run event at a time, and says what happened as the
/// stream events OpenAI sends: streaming writes them, a plain reply ignores them and returns <see cref="Final"/>,
/// so both carry the same output. A thinking model's reasoning opens a reasoning item (one reasoning_text part,
/// streamed as response.reasoning_text.delta); text opens a message item (one output_text part); each tool call is
/// a function_call item whose arguments stream as deltas; an item is done when the next one starts or the
/// run ends. The run ending by length makes the response incomplete (reason max_output_tokens).
/// </summary>
internal sealed class ResponseAssembler
{
    private readonly ResponsesToolSet _tools;
    private readonly bool _carryReasoning;
    private readonly List<ResponseOutputItem?> _output = [];
    private readonly Dictionary<int, OpenCall> _calls = [];
    private readonly List<ResponseStreamEvent> _events = [];
    private OpenMessage? _message;
    private OpenReasoning? _reasoning;
    private int _reasoningTokens;
    private int _sequence;

    /// <param name="carryReasoning">Reasoning items carry their text as encrypted_content (include asked for it).</param>
    public ResponseAssembler(ResponseObject template, ResponsesToolSet tools, bool carryReasoning = false)
    {
        Template = template;
        _tools = tools;
        _carryReasoning = carryReasoning;
    }

    /// <summary>The response as created (status in_progress, no output).</summary>
    public ResponseObject Template { get; }

    /// <summary>The finished response, once a <see cref="RunFinished"/> was pushed (or the run failed).</summary>
    public ResponseObject? Final { get; private set; }

    /// <summary>response.created and response.in_progress.</summary>
    public IReadOnlyList<ResponseStreamEvent> Start()
    {
        _events.Clear();
        _events.Add(new ResponseLifecycleEvent("response.created", _sequence++, Template));
        _events.Add(new ResponseLifecycleEvent("response.in_progress", _sequence++, Template));
        return _events;
    }

    /// <summary>The stream events that <paramref name="item"/> causes (often none).</summary>
    public IReadOnlyList<ResponseStreamEvent> Push(RunEvent item)
    {
        _events.Clear();
        switch (item)
        {
            case ContentEvent { Text.Length: 0 } logprobsOnly when _message is not null && logprobsOnly.Logprobs is { Count: > 0 } held:
                _message.Logprobs.AddRange(held.Select(Logprob)); // tokens of a stop string: scored, not shown
                break;

            case ReasoningEvent { Text.Length: > 0 } thought:
                CloseMessage("completed");
                CloseCalls();
                if (_reasoning is null)
                {
                    _reasoning = new OpenReasoning(NewId("rs_"), _output.Count);
                    _output.Add(null);
                    _events.Add(new OutputItemEvent("response.output_item.added", _sequence++, _reasoning.OutputIndex,
                        new ResponseReasoningItem(_reasoning.Id, "in_progress", [], null)));
                }

                _reasoning.Text.Append(thought.Text);
                _reasoningTokens = thought.CompletionTokens;
                _events.Add(new ReasoningTextDeltaEvent(_sequence++, _reasoning.Id, _reasoning.OutputIndex, 0, thought.Text));
                break;

            case ContentEvent { Text.Length: > 0 } text:
                CloseReasoning("completed");
                CloseCalls();
                if (_message is null)
                {
                    _message = new OpenMessage(NewId("msg_"), _output.Count);
                    _output.Add(null);
                    _events.Add(new OutputItemEvent("response.output_item.added", _sequence++, _message.OutputIndex,
                        new ResponseMessageItem(_message.Id, "in_progress", [])));
                    _events.Add(new ContentPartEvent("response.content_part.added", _sequence++, _message.Id, _message.OutputIndex, 0, new OutputTextPart("", [])));
                }

                _message.Text.Append(text.Text);
                var logprobs = text.Logprobs is { Count: > 0 } scored ? scored.Select(Logprob).ToList() : [];
                _message.Logprobs.AddRange(logprobs);
                _events.Add(new OutputTextDeltaEvent(_sequence++, _message.Id, _message.OutputIndex, 0, text.Text, logprobs));
                break;

            case ToolStartEvent start:
            {
                CloseReasoning("completed");
                CloseMessage("completed");
                CloseCalls();
                var (name, space) = _tools.ClientName(start.Name);
                var call = new OpenCall(NewId("fc_"), _output.Count, start.ClientId, name, space);
                _calls[start.Index] = call;
                _output.Add(null);
                _events.Add(new OutputItemEvent("response.output_item.added", _sequence++, call.OutputIndex, call.Item("in_progress", "")));
                break;
            }

            case ToolArgumentsEvent arguments when _calls.TryGetValue(arguments.Index, out var call):
                call.Arguments.Append(arguments.Fragment);
                _events.Add(new FunctionArgumentsDeltaEvent(_sequence++, call.Id, call.OutputIndex, arguments.Fragment));
                break;

            case ToolDiscardedEvent discarded when _calls.Remove(discarded.Index, out var call):
                // Cut off before its arguments were complete: reported as incomplete, left out of the output.
                _events.Add(new OutputItemEvent("response.output_item.done", _sequence++, call.OutputIndex, call.Item("incomplete", call.Arguments.ToString())));
                break;

            case RunFinished done:
                CloseReasoning(done.Reason == RunFinishReason.Length ? "incomplete" : "completed");
                CloseMessage(done.Reason == RunFinishReason.Length ? "incomplete" : "completed");
                CloseCalls();
                var usage = new ResponseUsage(done.PromptTokens, new InputTokensDetails(done.Timings.CachedTokens), done.CompletionTokens,
                    new OutputTokensDetails(_reasoningTokens), done.PromptTokens + done.CompletionTokens);
                bool cut = done.Reason == RunFinishReason.Length;
                Final = Template with
                {
                    Status = cut ? "incomplete" : "completed",
                    IncompleteDetails = cut ? new IncompleteDetails("max_output_tokens") : null,
                    Output = _output.OfType<ResponseOutputItem>().ToList(),
                    Usage = usage,
                };
                _events.Add(new ResponseLifecycleEvent(cut ? "response.incomplete" : "response.completed", _sequence++, Final));
                break;
        }

        return _events;
    }

    /// <summary>response.failed, for an error after the stream began.</summary>
    public ResponseStreamEvent Fail(ApiException error)
    {
        var code = error.Code ?? error.Kind switch
        {
            ApiErrorKind.RateLimited => "rate_limit_exceeded",
            ApiErrorKind.InvalidRequest => "invalid_prompt",
            _ => "server_error",
        };
        Final = Template with { Status = "failed", Error = new ResponseError(code, error.Message), Output = _output.OfType<ResponseOutputItem>().ToList() };
        return new ResponseLifecycleEvent("response.failed", _sequence++, Final);
    }

    private void CloseReasoning(string status)
    {
        if (_reasoning is not { } reasoning)
            return;
        var text = reasoning.Text.ToString();
        var item = new ResponseReasoningItem(reasoning.Id, status, [new ReasoningTextPart(text)], _carryReasoning ? CarriedReasoning.Encode(text) : null);
        _output[reasoning.OutputIndex] = item;
        _events.Add(new ReasoningTextDoneEvent(_sequence++, reasoning.Id, reasoning.OutputIndex, 0, text));
        _events.Add(new OutputItemEvent("response.output_item.done", _sequence++, reasoning.OutputIndex, item));
        _reasoning = null;
    }

    private void CloseMessage(string status)
    {
        if (_message is not { } message)
            return;
        var text = message.Text.ToString();
        var part = new OutputTextPart(text, message.Logprobs);
        var item = new ResponseMessageItem(message.Id, status, [part]);
        _output[message.OutputIndex] = item;
        _events.Add(new OutputTextDoneEvent(_sequence++, message.Id, message.OutputIndex, 0, text, message.Logprobs));
        _events.Add(new ContentPartEvent("response.content_part.done", _sequence++, message.Id, message.OutputIndex, 0, part));
        _events.Add(new OutputItemEvent("response.output_item.done", _sequence++, message.OutputIndex, item));
        _message = null;
    }

    private void CloseCalls()
    {
        foreach (var (index, call) in _calls.OrderBy(c => c.Value.OutputIndex))
        {
            if (call.Arguments.Length == 0)
            {
                // A call without arguments still sends valid JSON, and the deltas add up to it.
                call.Arguments.Append("{}");
                _events.Add(new FunctionArgumentsDeltaEvent(_sequence++, call.Id, call.OutputIndex, "{}"));
            }

            var arguments = call.Arguments.ToString();
            var item = call.Item("completed", arguments);
            _output[call.OutputIndex] = item;
            _events.Add(new FunctionArgumentsDoneEvent(_sequence++, call.Id, call.OutputIndex, call.Name, arguments));
            _events.Add(new OutputItemEvent("response.output_item.done", _sequence++, call.OutputIndex, item));
        }

        _calls.Clear();
    }

    internal static string NewId(string prefix) => prefix + RandomIds.Alphanumeric(24);

    private static ResponseLogprob Logprob(TokenLogprob token) => new(
        token.Token, token.Logprob, Bytes(token.Bytes), token.Top.Select(t => new ResponseTopLogprob(t.Token, t.Logprob, Bytes(t.Bytes))).ToList());

    private static int[] Bytes(byte[] bytes) => Array.ConvertAll(bytes, b => (int)b);

    private sealed record OpenMessage(string Id, int OutputIndex)
    {
        public StringBuilder Text { get; } = new();

        public List<ResponseLogprob> Logprobs { get; } = [];
    }

    private sealed record OpenReasoning(string Id, int OutputIndex)
    {
        public StringBuilder Text { get; } = new();
    }

    private sealed record OpenCall(string Id, int OutputIndex, string CallId, string Name, string? Namespace)
    {
        public StringBuilder Arguments { get; } = new();

        public ResponseFunctionCallItem Item(string status, string arguments) => new(Id, status, CallId, Name, Namespace, arguments);
    }
}
