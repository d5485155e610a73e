using System.Runtime.CompilerServices;
using System.Text;
using KimiSharp.Chat;
using KimiSharp.Engine;
using KimiSharp.Gguf;
using KimiSharp.Grammar;
using KimiSharp.Grammar.Json;
using KimiSharp.Sampling;
using KimiSharp.Server.Hosting;
using KimiSharp.Text;

namespace KimiSharp.Server.Backend;

/// <summary>
/// The real backend: the chat template (<see cref="ChatFormatter"/>, history ids normalised to
/// <c>functions.NAME:IDX</c>), the tokenizer (template text with special-token parsing, message content
/// without), the <see cref="InferenceEngine"/>, and Kimi's tool-call parser over the decoded text.
/// With enforcement (the default) every chat reply is constrained by the Enforcer (<see cref="ChatConstraint"/>):
/// tool calls follow Kimi's format with declared names, the next global index and schema-valid arguments;
/// no declared tools or tool_choice none masks the markers out, required/named open the section at once; response
/// formats and grammars constrain the content. Without it (<c>--no-enforce</c>): no tools or <c>none</c> bans the
/// tokens that open a tool call, <c>required</c> and a named tool prefill the start of a tool-call section after the
/// generation prompt. A thinking model's reasoning is split from the answer (<see cref="ChatOutputParser"/>);
/// control and other special tokens never reach the text (<see cref="SpecialTokenFilter"/>).
/// </summary>
public sealed class EngineChatBackend : IChatBackend, IEngineStatsSource, IDisposable
{
    private readonly InferenceEngine _engine;
    private readonly Tokenizer _tokenizer;
    private readonly ChatFormatter _formatter;
    private readonly bool _ownsEngine;
    private readonly int[] _toolCallStartIds;
    private readonly SpecialTokenFilter _chatFilter;
    private readonly SpecialTokenFilter _rawFilter;
    private readonly EnforcementOptions _enforcement;
    private readonly Lazy<Enforcer>? _enforcer;

    public EngineChatBackend(InferenceEngine engine, Tokenizer tokenizer, ChatFormatter formatter, string modelId, bool ownsEngine = true,
        EnforcementOptions? enforcement = null)
    {
        _engine = engine;
        _tokenizer = tokenizer;
        _formatter = formatter;
        _ownsEngine = ownsEngine;
        // The tokens that can open a tool call (the parser also takes a call without its section).
        _toolCallStartIds = new[] { ToolCallParser.SectionBegin, ToolCallParser.SectionBeginSingular, ToolCallParser.CallBegin }
            .Select(marker => tokenizer.TryGetId(marker, out int id) ? id : -1).Where(id => id >= 0).ToArray();
        _chatFilter = SpecialTokenFilter.ForChat(tokenizer, formatter.Reasons);
        _rawFilter = SpecialTokenFilter.ForRaw(tokenizer);
        _enforcement = enforcement ?? new EnforcementOptions();
        if (_enforcement.ReasoningEnd is null && formatter.Reasons)
            _enforcement = _enforcement with { ReasoningEnd = ReasoningParser.Close };
        if (_enforcement.Enabled)
            _enforcer = new Lazy<Enforcer>(() => new Enforcer(GrammarVocabulary.FromTokenizer(tokenizer), _enforcement.Log));
        Model = new ModelDescription(modelId, engine.ContextLength, tokenizer.VocabSize, DateTimeOffset.UtcNow.ToUnixTimeSeconds())
        {
            Facts = engine.Model is KimiSharp.Models.DeepSeek2.DeepSeek2Model model ? ModelFacts.FromGguf(model.File) : null,
        };
    }

    /// <summary>
    /// A backend over <paramref name="model"/> with the tokenizer and chat template read from the GGUF
    /// metadata (the native Kimi renderer when the file has no template).
    /// </summary>
    public static EngineChatBackend Create(ILanguageModel model, GgufMetadata metadata, string modelId, EngineOptions engineOptions, EnforcementOptions? enforcement = null)
    {
        var tokenizer = Tokenizer.FromGguf(metadata);
        metadata.TryGetString("tokenizer.chat_template", out var template);
        var formatter = new ChatFormatter(template, TokenOrEmpty(tokenizer, tokenizer.BosId), TokenOrEmpty(tokenizer, tokenizer.EosId));
        return new EngineChatBackend(new InferenceEngine(model, tokenizer, engineOptions), tokenizer, formatter, modelId, enforcement: enforcement);
    }

    /// <summary>The Enforcer (built on first use: its vocabulary view takes about a second for 160K tokens), or null with enforcement off.</summary>
    public Enforcer? Enforcer => _enforcer?.Value;

    public BackendState State => BackendState.Ready;

    public ModelDescription Model { get; }

    public int QueueDepth => _engine.Stats.QueueDepth;

    public int InFlight => _engine.Stats.ActiveSequences;

    public InferenceEngine Engine => _engine;

    public EngineStats? EngineStats => _engine.Stats;

    public PreparedPrompt PrepareChat(ChatPromptRequest request)
    {
        var messages = request.Messages.Select(m => new ChatMessage(
            m.Role,
            m.Content,
            m.ToolCalls?.Select(c => new ToolCall(c.Id, c.Name, c.Arguments)).ToList(),
            m.ToolCallId,
            m.Name,
            m.Reasoning)).ToList();
        var tools = request.Tools?.Select(t => new ToolDefinition(t.Name, t.Description, t.ParametersJson)).ToList();
        var formatted = _formatter.Format(messages, tools);

        var tokens = new List<int>();
        if (_tokenizer.AddBos)
            tokens.Add(_tokenizer.BosId);
        foreach (var segment in formatted.Segments)
            _tokenizer.Encode(segment.Text, segment.IsTemplateText, tokens);

        // A thinking model's generation prompt may already open the reasoning; "skip reasoning" closes it at once.
        bool reasons = _formatter.Reasons;
        bool opened = reasons && ChatReplyParser.OpensReasoning(formatted.Text);
        var reasoningPrefill = reasons && request.SkipReasoning ? (opened ? "" : ReasoningParser.Open) + ReasoningParser.Close : "";
        int firstCallIndex = request.Messages.Sum(m => m.ToolCalls?.Count ?? 0);
        if (Enforcer is { } enforcer)
        {
            if (reasoningPrefill.Length > 0)
                _tokenizer.Encode(reasoningPrefill, parseSpecial: true, tokens);
            var constraint = ChatConstraint(enforcer, request, firstCallIndex);
            if (reasoningPrefill.Length > 0)
                constraint = constraint with { ReasoningEnd = null };
            return new PreparedPrompt(tokens.ToArray(), ParseToolCalls: true, request.Tools, request.ToolChoice)
            {
                BackendData = new ChatState(reasoningPrefill, BanToolCalls: false, reasons, opened, constraint),
            };
        }

        var toolPrefill = request.ToolChoice.Mode switch
        {
            ToolChoiceMode.Required when tools is not null => ToolCallParser.SectionBegin,
            ToolChoiceMode.Named => $"{ToolCallParser.SectionBegin}{ToolCallParser.CallBegin}functions.{request.ToolChoice.Name}:{firstCallIndex}{ToolCallParser.ArgumentBegin}",
            _ => "",
        };
        var prefill = reasoningPrefill + toolPrefill;
        if (prefill.Length > 0)
            _tokenizer.Encode(prefill, parseSpecial: true, tokens);

        // Without declared tools (or with tool_choice none) the model cannot open a tool-call section.
        bool banToolCalls = request.ToolChoice.Mode == ToolChoiceMode.None || tools is null;
        return new PreparedPrompt(tokens.ToArray(), ParseToolCalls: true, request.Tools, request.ToolChoice)
        {
            BackendData = new ChatState(prefill, banToolCalls, reasons, opened, null),
        };
    }

    /// <summary>
    /// The reply's constraint without the content format (added per generation): tool calls as the request allows
    /// them, each tool's arguments compiled from its schema (cached; a schema never fails the request).
    /// </summary>
    private ChatConstraintOptions ChatConstraint(Enforcer enforcer, ChatPromptRequest request, int firstCallIndex) =>
        ChatConstraints.ForTools(enforcer,
            request.Tools?.Select(t => new ToolDefinition(t.Name, t.Description, t.ParametersJson)).ToList(),
            request.ToolChoice.Mode switch
            {
                ToolChoiceMode.None => ToolCallMode.None,
                ToolChoiceMode.Auto => ToolCallMode.Auto,
                _ => ToolCallMode.Required,
            },
            request.ToolChoice.Mode == ToolChoiceMode.Named ? request.ToolChoice.Name : null,
            firstCallIndex, _enforcement.ReasoningEnd);

    public void ValidateFormat(OutputFormat format)
    {
        if (Enforcer is { } enforcer) Compile(enforcer, format);
    }

    /// <summary>The format's grammar; a bad or (strict) unsupported schema or grammar is a 400 naming the field.</summary>
    private static CompiledGrammar Compile(Enforcer enforcer, OutputFormat format)
    {
        try
        {
            return format.Kind switch
            {
                OutputFormatKind.JsonObject => enforcer.JsonObject(),
                OutputFormatKind.JsonSchema => enforcer.JsonSchema(format.Source!, format.Strict),
                _ => enforcer.Gbnf(format.Source!),
            };
        }
        catch (UnsupportedSchemaException e)
        {
            throw ApiException.Invalid(format.Param, $"{e.Message} (strict mode); remove it or set strict to false");
        }
        catch (GrammarException e)
        {
            throw ApiException.Invalid(format.Param, e.Message);
        }
    }

    /// <summary>The per-request constraint of a generation, or null when nothing is constrained.</summary>
    private ITokenConstraint? Constraint(PreparedPrompt prompt, GenerationOptions options)
    {
        if (Enforcer is not { } enforcer) return null;
        var content = options.Format is { } format ? Compile(enforcer, format) : null;
        return ChatConstraints.Create(enforcer, (prompt.BackendData as ChatState)?.Constraint, content, options.SingleToolCall);
    }

    public PreparedPrompt PrepareText(string prompt)
    {
        var tokens = new List<int>();
        if (_tokenizer.AddBos)
            tokens.Add(_tokenizer.BosId);
        _tokenizer.Encode(prompt, parseSpecial: true, tokens);
        return new PreparedPrompt(tokens.ToArray(), ParseToolCalls: false);
    }

    public PreparedPrompt PrepareTokens(IReadOnlyList<int> tokens)
    {
        CheckIds(tokens);
        return new PreparedPrompt(tokens.ToArray(), ParseToolCalls: false);
    }

    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial)
    {
        var tokens = new List<int>();
        if (addSpecial && _tokenizer.AddBos)
            tokens.Add(_tokenizer.BosId);
        _tokenizer.Encode(text, parseSpecial, tokens);
        return tokens.ToArray();
    }

    public string Detokenize(IReadOnlyList<int> tokens)
    {
        CheckIds(tokens);
        return _tokenizer.Decode(tokens.ToArray());
    }

    public string TokenPiece(int token) => Encoding.UTF8.GetString(_tokenizer.TokenBytes(token));

    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(PreparedPrompt prompt, GenerationOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var state = prompt.BackendData as ChatState;
        var request = new GenerationRequest(prompt.Tokens)
        {
            Sampling = Sampling(options, state?.BanToolCalls == true),
            MaxTokens = options.MaxTokens,
            TopLogprobs = options.Logprobs ? options.TopLogprobs : null,
            Constraint = Constraint(prompt, options),
        };

        // Leaving this iterator early (stop string found, client gone, server stopping) cancels the sequence at its next
        // step; the reply itself ends at once, even while the engine is still busy with a long prefill chunk.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var events = Submit(request, stop.Token);
        var parser = state is null ? null : new ChatOutputParser(state.Reasons, state.StartsInReasoning);
        var filter = state is null ? _rawFilter : _chatFilter;
        int generated = 0;
        try
        {
            if (parser is not null && state is { Prefill.Length: > 0 })
                foreach (var update in parser.Push(state.Prefill, 0, null))
                    yield return update;

            await foreach (var item in events.ReadAllAsync(cancellationToken))
            {
                switch (item)
                {
                    case TokenEvent token:
                        generated++;
                        var logprobs = token.Logprob is { } lp ? new[] { Logprob(lp) } : null;
                        var text = filter.Apply(token.TokenId, token.TextDelta);
                        if (parser is null)
                        {
                            yield return new TextDelta(text, generated, logprobs);
                            break;
                        }

                        bool carried = false;
                        foreach (var update in parser.Push(text, generated, logprobs))
                        {
                            carried |= update is TextDelta { Logprobs: not null };
                            yield return update;
                        }

                        if (logprobs is not null && !carried)
                            yield return new TextDelta("", generated, logprobs);
                        break;

                    case TextEvent tail:
                        if (parser is null)
                            yield return new TextDelta(tail.TextDelta, generated);
                        else
                            foreach (var update in parser.Push(tail.TextDelta, generated, null))
                                yield return update;
                        break;

                    case FinishEvent finish:
                        if (finish.Reason == FinishReason.Cancelled)
                            throw new OperationCanceledException(cancellationToken);
                        if (parser is not null)
                            foreach (var update in parser.Finish(generated))
                                yield return update;
                        var reason = finish.Reason == FinishReason.Length ? GenerationStopReason.Length : GenerationStopReason.EndOfTurn;
                        var t = finish.Timings;
                        yield return new GenerationFinished(reason, Math.Max(generated, finish.Usage.CompletionTokens),
                            new GenerationTimings(finish.Usage.PromptTokens, finish.Usage.CachedPromptTokens, t.PromptMs, t.DecodeMs));
                        yield break;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
        }
    }

    private System.Threading.Channels.ChannelReader<GenerationEvent> Submit(GenerationRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return _engine.Submit(request, cancellationToken);
        }
        catch (EngineQueueFullException e)
        {
            throw new QueueFullException(e.Message);
        }
        catch (KimiSharp.Engine.ContextOverflowException e)
        {
            throw new ContextOverflowException(e.PromptTokens, e.ContextLength);
        }
        catch (ArgumentException e)
        {
            throw new ApiException(ApiErrorKind.InvalidRequest, e.Message);
        }
    }

    private SamplingParams Sampling(GenerationOptions options, bool banToolCalls)
    {
        var bias = options.LogitBias is null ? new Dictionary<int, float>() : new Dictionary<int, float>(options.LogitBias);
        if (banToolCalls)
            foreach (int id in _toolCallStartIds)
                bias[id] = float.NegativeInfinity;
        return new SamplingParams
        {
            Temperature = options.Temperature,
            TopK = options.TopK,
            TopP = options.TopP <= 0 ? float.Epsilon : options.TopP,
            MinP = options.MinP,
            PresencePenalty = options.PresencePenalty,
            FrequencyPenalty = options.FrequencyPenalty,
            LogitBias = bias.Count == 0 ? null : bias,
            Seed = options.Seed is long seed ? unchecked((ulong)seed) : null,
        };
    }

    private Backend.TokenLogprob Logprob(KimiSharp.Engine.TokenLogprob lp) => new(
        TokenPiece(lp.TokenId),
        lp.Logprob,
        _tokenizer.TokenBytes(lp.TokenId),
        lp.Top.Select(t => new Backend.TopLogprob(TokenPiece(t.TokenId), t.Logprob, _tokenizer.TokenBytes(t.TokenId))).ToList());

    private void CheckIds(IReadOnlyList<int> tokens)
    {
        for (int i = 0; i < tokens.Count; i++)
            if ((uint)tokens[i] >= (uint)_tokenizer.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(tokens), $"token {i} has id {tokens[i]}, outside the vocabulary (0..{_tokenizer.VocabSize - 1})");
    }

    private static string TokenOrEmpty(Tokenizer tokenizer, int id) => id >= 0 && id < tokenizer.VocabSize ? tokenizer.TokenText(id) : "";

    public void Dispose()
    {
        if (_ownsEngine)
            _engine.Dispose();
    }

    private sealed record ChatState(string Prefill, bool BanToolCalls, bool Reasons, bool StartsInReasoning, ChatConstraintOptions? Constraint);
}
