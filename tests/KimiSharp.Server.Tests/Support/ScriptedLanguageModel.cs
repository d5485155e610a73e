using KimiSharp.Engine;
using KimiSharp.Text;

namespace KimiSharp.Server.Tests.Support;

/// <summary>
/// The only fake under the real engine: a "model" whose next token is certain (one large logit) and follows
/// a script chosen from the conversation so far. The script is text with Kimi's marker tokens, tokenized by
/// the real tokenizer, so the engine, the streaming decoder and the tool-call parser all run for real.
/// Scripts (picked from the decoded prompt, last match wins):
/// "weather" → prose, then a get_weather tool call; "echo kimi-ok" → a tool call running it: Bash when Bash is
/// declared (Claude Code), exec_command otherwise (Codex; "think, then run echo kimi-ok": after reasoning); "## Return of" → an answer using the result
/// (<see cref="BashAnswerScript"/> for Claude Code's kimi-ok); "specials" → text with control tokens among it;
/// "think step" → reasoning in &lt;think&gt; tags, then an answer; "think about the weather" → reasoning, then a
/// get_weather call; "as JSON" → a JSON object;
/// "forever" → never ends; anything else → a short greeting.
/// </summary>
internal sealed class ScriptedLanguageModel : ILanguageModel
{
    public const string ToolScript = """I'll check.<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|><|im_end|>""";
    public const string ExecScript = """Running it.<|tool_calls_section_begin|><|tool_call_begin|>functions.exec_command:0<|tool_call_argument_begin|>{"cmd": "echo kimi-ok"}<|tool_call_end|><|tool_calls_section_end|><|im_end|>""";
    public const string ExecReasoning = "The user wants kimi-ok printed.";
    public const string ThinkingExecScript = "<think>" + ExecReasoning + "</think>" + ExecScript;
    public const string ThinkingBashScript = "<think>" + ExecReasoning + "</think>" + BashScript;
    public const string AnswerScript = "It is sunny in Paris.<|im_end|>";
    public const string JsonScript = """{"city": "Paris", "sunny": true}<|im_end|>""";
    public const string GreetingScript = "Hello from the scripted model, nice to meet you.<|im_end|>";
    public const string BashScript = """<|tool_calls_section_begin|><|tool_call_begin|>functions.Bash:0<|tool_call_argument_begin|>{"command": "echo kimi-ok", "description": "Print kimi-ok"}<|tool_call_end|><|tool_calls_section_end|><|im_end|>""";
    public const string BashAnswerScript = "The command printed kimi-ok.<|im_end|>";

    /// <summary>Control tokens amid the text; the answer must read <see cref="SpecialsText"/>.</summary>
    public const string SpecialsScript = "Hi<|im_user|> there<|im_system|>, friend[BOS].<|im_end|>";
    public const string SpecialsText = "Hi there, friend.";
    public const string ThinkingScript = "<think>Two and two make four.</think>\n\nThe answer is 4.<|im_end|>";
    public const string ThinkingToolScript = """<think>I should check the weather.</think><|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|><|im_end|>""";

    private readonly Tokenizer _tokenizer;
    private readonly int _generationStart;
    private readonly int[] _emptyReasoning; // prefilled by "skip reasoning" (thinking disabled): the script starts after it
    private int _openSessions;

    public ScriptedLanguageModel(Tokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        _generationStart = tokenizer.Encode("<|im_middle|>", parseSpecial: true).Single();
        _emptyReasoning = tokenizer.Encode("<think></think>", parseSpecial: true);
    }

    public int VocabSize => _tokenizer.VocabSize;

    public int TrainedContextLength => 4096;

    public int OpenSessions => Volatile.Read(ref _openSessions);

    public int ForwardCalls => Volatile.Read(ref _forwardCalls);
    private int _forwardCalls;

    /// <summary>When set, every forward waits for one release of it: a test holds the model in the middle of its work.</summary>
    public SemaphoreSlim? ForwardGate { get; set; }

    /// <summary>The prompt of the most recent session, decoded (for asserting what the model saw).</summary>
    public string? LastPrompt { get; private set; }

    public IModelSession CreateSession(int maxTokens)
    {
        Interlocked.Increment(ref _openSessions);
        return new Session(this, maxTokens);
    }

    public long KvBytesPerToken => KimiSharp.Tests.Engine.TokenKvRunner.BytesPerToken;
    public string KvIdentity => "scripted-server";

    public IBatchRunner CreateBatchRunner(int maxTokens) => new KimiSharp.Tests.Engine.TokenKvRunner(VocabSize, maxTokens, (history, logits) =>
    {
        logits.Clear();
        logits[Next([.. history])] = 30f;
    }, _ =>
    {
        Interlocked.Increment(ref _forwardCalls);
        ForwardGate?.Wait();
    });

    public void Dispose() { }

    private int Next(List<int> tokens)
    {
        int start = tokens.LastIndexOf(_generationStart) + 1;
        if (tokens.Count - start >= _emptyReasoning.Length && tokens.GetRange(start, _emptyReasoning.Length).SequenceEqual(_emptyReasoning))
            start += _emptyReasoning.Length;
        var prompt = _tokenizer.Decode(tokens.GetRange(0, start).ToArray());
        LastPrompt = prompt;
        var lastUser = prompt[(prompt.LastIndexOf("<|im_user|>", StringComparison.Ordinal) + 1)..];
        bool answering = prompt.LastIndexOf("## Return of", StringComparison.Ordinal) > prompt.LastIndexOf("<|im_user|>", StringComparison.Ordinal);
        bool claudeCode = prompt.Contains("\"name\": \"Bash\"", StringComparison.Ordinal); // Claude Code's shell tool is declared
        string script = answering ? (claudeCode && lastUser.Contains("\nkimi-ok", StringComparison.Ordinal) ? BashAnswerScript : AnswerScript)
            : lastUser.Contains("specials", StringComparison.Ordinal) ? SpecialsScript
            : lastUser.Contains("think step", StringComparison.Ordinal) ? ThinkingScript
            : lastUser.Contains("think about the weather", StringComparison.Ordinal) ? ThinkingToolScript
            : lastUser.Contains("forever", StringComparison.Ordinal) ? "and on " // cycled without an end
            : lastUser.Contains("weather", StringComparison.Ordinal) ? ToolScript
            : lastUser.Contains("think, then run echo kimi-ok", StringComparison.Ordinal) ? (claudeCode ? ThinkingBashScript : ThinkingExecScript)
            : lastUser.Contains("echo kimi-ok", StringComparison.Ordinal) ? (claudeCode ? BashScript : ExecScript)
            : lastUser.Contains("as JSON", StringComparison.Ordinal) ? JsonScript
            : GreetingScript;
        var ids = _tokenizer.Encode(script, parseSpecial: true);
        int k = tokens.Count - start;
        return ids[script == "and on " ? k % ids.Length : Math.Min(k, ids.Length - 1)];
    }

    private sealed class Session(ScriptedLanguageModel model, int maxTokens) : IModelSession
    {
        private readonly List<int> _tokens = [];

        public int Length => _tokens.Count;

        public int MaxTokens => maxTokens;

        public void Forward(ReadOnlySpan<int> tokens, Span<float> logits)
        {
            Interlocked.Increment(ref model._forwardCalls);
            model.ForwardGate?.Wait();
            _tokens.AddRange(tokens.ToArray());
            logits.Clear();
            logits[model.Next(_tokens)] = 30f;
        }

        public void Truncate(int length) => _tokens.RemoveRange(length, _tokens.Count - length);

        public void Dispose() => Interlocked.Decrement(ref model._openSessions);
    }
}
