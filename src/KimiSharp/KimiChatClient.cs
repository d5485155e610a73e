using System.Runtime.CompilerServices;
using System.Text.Json;
using KimiSharp.Chat;
using KimiSharp.AI;
using KimiSharp.Engine;
using KimiSharp.Grammar;
using KimiSharp.Text;
using Microsoft.Extensions.AI;
using MeaiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace KimiSharp;

/// <summary>
/// Kimi in-process through Microsoft.Extensions.AI: the same engine, chat template, Enforcer and tool-call parser as
/// <c>kimi serve</c>, without HTTP. Concurrent calls are sequences of one <see cref="InferenceEngine"/>, so they
/// are batched as the server's requests are.
/// <code>
/// using IChatClient kimi = new KimiChatClient("Kimi-K2-Instruct-0905-UD-Q2_K_XL-00001-of-00008.gguf");
/// var reply = await kimi.GetResponseAsync("Hello!");
/// </code>
/// Honours <see cref="ChatOptions"/> MaxOutputTokens, Temperature, TopP, TopK, StopSequences, Seed, FrequencyPenalty,
/// PresencePenalty, ResponseFormat (JSON / JSON schema, enforced token by token), Tools with ToolMode (Auto, None,
/// RequireAny, RequireSpecific; arguments always valid against the tool's schema), AllowMultipleToolCalls and
/// Instructions. Tool calls come back as <see cref="FunctionCallContent"/>; <see cref="FunctionResultContent"/> in the
/// history answers them, so <c>UseFunctionInvocation()</c> works. The non-streaming reply is the streaming one gathered.
/// </summary>
public sealed class KimiChatClient : IChatClient
{
    private readonly LocalModel _model;
    private readonly InferenceEngine _engine;
    private readonly KimiChatClientOptions _options;
    private readonly bool _owns;
    private readonly Lazy<Enforcer> _enforcer;
    private readonly string? _reasoningEnd;
    private readonly SpecialTokenFilter _filter;

    /// <summary>Loads <paramref name="modelPath"/> (any part of a split GGUF set), or the built-in demo model when null, and starts an engine for it.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public KimiChatClient(string? modelPath, KimiChatClientOptions? options = null)
    {
        _options = options ?? new KimiChatClientOptions();
        _model = LocalModel.Open(modelPath, _options.Threads, _options.Log ?? TextWriter.Null, exact: _options.Exact, kvType: _options.KvType);
        try
        {
            _engine = new InferenceEngine(_model.Model, _model.Tokenizer, _options.Engine);
        }
        catch
        {
            _model.Dispose();
            throw;
        }

        _owns = true;
        (_enforcer, _reasoningEnd, _filter, Metadata) = Init(_model, _options);
    }

    /// <summary>A client over a model and engine someone else owns (e.g. shared with a server in the same process); disposing it leaves both running.</summary>
    public KimiChatClient(LocalModel model, InferenceEngine engine, KimiChatClientOptions? options = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _options = options ?? new KimiChatClientOptions();
        (_enforcer, _reasoningEnd, _filter, Metadata) = Init(_model, _options);
    }

    private static (Lazy<Enforcer>, string?, SpecialTokenFilter, ChatClientMetadata) Init(LocalModel model, KimiChatClientOptions options) => (
        new Lazy<Enforcer>(() => new Enforcer(GrammarVocabulary.FromTokenizer(model.Tokenizer))),
        ChatConstraints.ReasoningEndOf(model.ChatTemplate),
        SpecialTokenFilter.ForChat(model.Tokenizer, model.Formatter.Reasons),
        new ChatClientMetadata("kimisharp", new Uri(System.IO.Path.GetFullPath(model.Path)), options.ModelId ?? model.Name));

    /// <summary>Provider "kimisharp", the model file and the model id.</summary>
    public ChatClientMetadata Metadata { get; }

    /// <summary>The engine generating for this client.</summary>
    public InferenceEngine Engine => _engine;

    /// <summary>The loaded model: network, tokenizer, chat template and GGUF metadata.</summary>
    public LocalModel Model => _model;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<MeaiChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken).ConfigureAwait(false);

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<MeaiChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        // Everything that can be wrong with the request throws here, before the first update.
        var history = ChatHistoryMapper.Map(messages, options?.Instructions, out int earlierCalls);
        var tools = ChatOptionsMapper.Tools(options);
        var (mode, onlyTool) = ChatOptionsMapper.ToolMode(options, tools);
        if (mode == ToolCallMode.Required && _enforcer.Value.ToolFormat is null)
            throw new NotSupportedException("this model's vocabulary has no tool-call markers, so a tool call cannot be required");
        var formatted = _model.Formatter.Format(history, tools);
        int[] prompt = ChatTokenization.Encode(_model.Tokenizer, formatted);

        // A thinking model's generation prompt may already open the reasoning; ReasoningEffort.None closes it at once.
        bool reasons = _model.Formatter.Reasons;
        bool opened = reasons && ChatReplyParser.OpensReasoning(formatted.Text);
        string prefill = reasons && options?.Reasoning?.Effort == ReasoningEffort.None ? (opened ? "" : ReasoningParser.Open) + ReasoningParser.Close : "";
        if (prefill.Length > 0)
        {
            var withPrefill = new List<int>(prompt);
            _model.Tokenizer.Encode(prefill, parseSpecial: true, withPrefill);
            prompt = [.. withPrefill];
        }
        if (options?.MaxOutputTokens is < 1)
            throw new ArgumentException($"MaxOutputTokens must be >= 1 (got {options.MaxOutputTokens})", nameof(options));
        int room = Math.Max(_engine.ContextLength - prompt.Length, 0);
        var enforcer = _enforcer.Value;
        var chat = ChatConstraints.ForTools(enforcer, tools, mode, onlyTool, earlierCalls, prefill.Length > 0 ? null : _reasoningEnd);
        var request = new GenerationRequest(prompt)
        {
            Sampling = ChatOptionsMapper.Sampling(options, _options),
            MaxTokens = Math.Min(options?.MaxOutputTokens ?? room, room),
            Constraint = ChatConstraints.Create(enforcer, chat, ChatOptionsMapper.Format(enforcer, options), singleCall: options?.AllowMultipleToolCalls == false),
        };
        var stop = new CancellationTokenSource();
        try
        {
            var events = _engine.Submit(request, stop.Token); // validation: context overflow, queue full, sampling values
            var parser = new ChatReplyParser(reasons, opened);
            parser.Push(prefill); // the closed, empty reasoning block: nothing to show
            return Stream(events, stop, parser, prompt.Length, options?.StopSequences ?? [], cancellationToken);
        }
        catch
        {
            stop.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Engine events → updates: special tokens hidden, reasoning as <see cref="TextReasoningContent"/>, answer text through
    /// the stop strings, calls whole when complete, then usage and the finish reason.
    /// </summary>
    private async IAsyncEnumerable<ChatResponseUpdate> Stream(System.Threading.Channels.ChannelReader<GenerationEvent> events, CancellationTokenSource stop,
        ChatReplyParser parser, int promptTokens, IList<string> stopSequences, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string responseId = "kimi-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow;
        var stops = new StopSequenceFilter([.. stopSequences]);
        int generated = 0, calls = 0;
        bool stopped = false;
        Usage? usage = null;
        FinishReason? engineReason = null;
        using var registration = cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), stop);
        try
        {
            await foreach (var e in events.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested(); // events already queued are not shown once the caller cancels
                IReadOnlyList<ToolCallParserEvent> parsed;
                switch (e)
                {
                    case TokenEvent token:
                        generated++;
                        parsed = parser.Push(_filter.Apply(token.TokenId, token.TextDelta));
                        break;
                    case TextEvent text:
                        parsed = parser.Push(text.TextDelta);
                        break;
                    case FinishEvent finish:
                        if (finish.Reason == FinishReason.Cancelled)
                            throw new OperationCanceledException(cancellationToken);
                        usage = finish.Usage;
                        engineReason = finish.Reason;
                        parsed = parser.Finish();
                        break;
                    default:
                        continue;
                }

                foreach (var p in parsed)
                {
                    switch (p)
                    {
                        case ReasoningText reasoning:
                            yield return Update(new TextReasoningContent(reasoning.Text));
                            break;
                        case ContentDelta content:
                            var (released, hit) = stops.Push(content.Text);
                            if (released.Length > 0)
                                yield return Update(new TextContent(released));
                            stopped = hit is not null;
                            break;
                        case ToolCallStarted:
                            if (stops.Flush() is { Length: > 0 } rest)
                                yield return Update(new TextContent(rest));
                            break;
                        case ToolCallCompleted completed:
                            calls++;
                            yield return Update(FunctionCall(completed));
                            break;
                    }

                    if (stopped) break;
                }

                if (stopped || engineReason is not null) break;
            }

            if (!stopped && stops.Flush() is { Length: > 0 } held)
                yield return Update(new TextContent(held));
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false); // a stop string or a consumer that left early ends the sequence
            stop.Dispose();
        }

        cancellationToken.ThrowIfCancellationRequested();
        var details = new UsageDetails
        {
            InputTokenCount = usage?.PromptTokens ?? promptTokens,
            OutputTokenCount = Math.Max(usage?.CompletionTokens ?? 0, generated),
            CachedInputTokenCount = usage?.CachedPromptTokens,
        };
        details.TotalTokenCount = details.InputTokenCount + details.OutputTokenCount;
        var reason = engineReason == FinishReason.Length && !stopped ? ChatFinishReason.Length
            : calls > 0 ? ChatFinishReason.ToolCalls
            : ChatFinishReason.Stop;
        var last = Update(new UsageContent(details));
        last.FinishReason = reason;
        yield return last;

        ChatResponseUpdate Update(AIContent content) => new(ChatRole.Assistant, [content])
        {
            ResponseId = responseId,
            MessageId = responseId,
            ModelId = Metadata.DefaultModelId,
            CreatedAt = created,
        };
    }

    /// <summary>A completed Kimi call; its id (functions.NAME:IDX, numbered across the conversation) is the call id.</summary>
    private static FunctionCallContent FunctionCall(ToolCallCompleted completed) =>
        FunctionCallContent.CreateFromParsedArguments(completed.Call.Arguments, completed.Call.Id, completed.Call.Name, ParseArguments);

    private static Dictionary<string, object?> ParseArguments(string json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new JsonException($"tool-call arguments must be a JSON object, got {document.RootElement.ValueKind}");
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in document.RootElement.EnumerateObject())
            arguments[property.Name] = property.Value.Clone();
        return arguments;
    }

    /// <summary>
    /// This client, <see cref="ChatClientMetadata"/>, the <see cref="InferenceEngine"/>, the <see cref="LocalModel"/>, its
    /// network (<see cref="ILanguageModel"/>), <see cref="Tokenizer"/> or GGUF metadata (<see cref="Gguf.GgufMetadata"/>).
    /// </summary>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        foreach (var service in new object[] { this, Metadata, _engine, _model, _model.Model, _model.Tokenizer, _model.Metadata })
            if (serviceType.IsInstanceOfType(service))
                return service;
        return null;
    }

    public void Dispose()
    {
        if (!_owns) return;
        _engine.Dispose();
        _model.Dispose();
    }
}
