using System.Runtime.CompilerServices;
using System.Text;
using KimiSharp.Server.Backend;

namespace KimiSharp.Server.Tests.Support;

/// <summary>
/// A deterministic backend for HTTP tests: byte-level tokens (one token per UTF-8 byte), a plain-text
/// transcript as the prompt, and replies chosen by the last user message:
/// <list type="bullet">
/// <item><c>call:NAME JSON</c> — one tool call NAME with arguments JSON (streamed in 4-character fragments); <c>calls2:</c> — two such calls;</item>
/// <item><c>echo:TEXT</c> — replies TEXT one character per token;</item>
/// <item><c>forever</c> — generates until cancelled, ignoring max_tokens (records the cancellation);</item>
/// <item><c>block</c> — waits until <see cref="Release"/>;</item>
/// <item>after a tool result: <c>Result: CONTENT</c>; otherwise a fixed pangram, cycled.</item>
/// </list>
/// </summary>
internal sealed class ScriptedChatBackend : IChatBackend
{
    public const string DefaultReply = "The quick brown fox jumps over the lazy dog. ";
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;

    public BackendState State { get; set; } = BackendState.Ready;

    public ModelDescription Model { get; } = new("kimi-test", ContextLength: 2048, VocabSize: 256, CreatedUnixSeconds: 1_700_000_000);

    public int QueueDepth => 0;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Completes when a <c>forever</c> generation observes its cancellation.</summary>
    public TaskCompletionSource<int> ForeverCancelled { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The last chat request the backend saw (for mapping assertions).</summary>
    public ChatPromptRequest? LastChat { get; private set; }

    public GenerationOptions? LastOptions { get; private set; }

    /// <summary>Completes when a <c>block</c> generation has started and is waiting.</summary>
    public TaskCompletionSource BlockStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ResetForever() => ForeverCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _released.TrySetResult();

    public PreparedPrompt PrepareChat(ChatPromptRequest request)
    {
        LastChat = request;
        var text = new StringBuilder();
        foreach (var m in request.Messages)
        {
            text.Append(m.Role).Append(": ").Append(m.Content);
            foreach (var call in m.ToolCalls ?? [])
                text.Append(" [call ").Append(call.Id).Append(' ').Append(call.Name).Append(call.Arguments).Append(']');
            text.Append('\n');
        }

        return new PreparedPrompt(Bytes(text.ToString()), ParseToolCalls: true, request.Tools, request.ToolChoice) { BackendData = Script(request) };
    }

    public PreparedPrompt PrepareText(string prompt) => new(Bytes(prompt), ParseToolCalls: false) { BackendData = new Reply(DefaultReply, null, null) };

    public PreparedPrompt PrepareTokens(IReadOnlyList<int> tokens) => PrepareText(Detokenize(tokens));

    public int[] Tokenize(string text, bool addSpecial, bool parseSpecial) => Bytes(text);

    public string Detokenize(IReadOnlyList<int> tokens) => Encoding.UTF8.GetString(tokens.Select(t => (byte)t).ToArray());

    public string TokenPiece(int token) => Detokenize([token]);

    public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(PreparedPrompt prompt, GenerationOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        LastOptions = options;
        var reply = prompt.BackendData as Reply ?? new Reply(DefaultReply, null, null);
        Interlocked.Increment(ref _inFlight);
        int produced = 0;
        try
        {
            if (reply.Mode == "block")
            {
                BlockStarted.TrySetResult();
                await _released.Task.WaitAsync(cancellationToken);
            }

            for (int call = 0; reply.ToolName is not null && call < reply.Calls; call++)
            {
                produced += 3; // (section begin,) call begin, id
                yield return new ToolCallStarted(call, reply.ToolName, $"functions.{reply.ToolName}:{call}", produced);
                for (int i = 0; i < reply.Text.Length; i += 4)
                {
                    await Task.Yield();
                    var fragment = reply.Text.Substring(i, Math.Min(4, reply.Text.Length - i));
                    produced++;
                    yield return new ToolCallArgumentsDelta(call, fragment, produced);
                }
            }

            if (reply.ToolName is not null)
            {

                produced += 2;
                yield return new GenerationFinished(GenerationStopReason.ToolCalls, produced, Timings(prompt, produced));
                yield break;
            }

            bool forever = reply.Mode == "forever";
            for (int i = 0; forever || i < reply.Text.Length; i++)
            {
                if (produced >= options.MaxTokens && !forever)
                {
                    yield return new GenerationFinished(GenerationStopReason.Length, produced, Timings(prompt, produced));
                    yield break;
                }

                await Task.Yield();
                if (forever && cancellationToken.IsCancellationRequested)
                {
                    ForeverCancelled.TrySetResult(produced);
                    cancellationToken.ThrowIfCancellationRequested();
                }

                produced++;
                var text = reply.Text[i % reply.Text.Length].ToString();
                var logprobs = options.Logprobs
                    ? new[] { new TokenLogprob(text, -0.5f, Encoding.UTF8.GetBytes(text), Enumerable.Range(0, options.TopLogprobs).Select(k => new TopLogprob("t" + k, -1f - k, [(byte)'t'])).ToList()) }
                    : null;
                yield return new TextDelta(text, produced, logprobs);
            }

            yield return new GenerationFinished(GenerationStopReason.EndOfTurn, produced + 1, Timings(prompt, produced + 1));
        }
        finally
        {
            if (reply.Mode == "forever")
                ForeverCancelled.TrySetResult(produced);
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static GenerationTimings Timings(PreparedPrompt prompt, int produced) => new(prompt.TokenCount, 0, 1.0, produced);

    private static int[] Bytes(string text) => Encoding.UTF8.GetBytes(text).Select(b => (int)b).ToArray();

    private static Reply Script(ChatPromptRequest request)
    {
        var last = request.Messages[^1];
        if (last.Role == "tool")
            return new Reply("Result: " + last.Content, null, null);
        var content = last.Content ?? "";
        if (content.StartsWith("call:", StringComparison.Ordinal) || content.StartsWith("calls2:", StringComparison.Ordinal))
        {
            int colon = content.IndexOf(':'), space = content.IndexOf(' ');
            return new Reply(content[(space + 1)..], content[(colon + 1)..space], null) { Calls = content.StartsWith("calls2:", StringComparison.Ordinal) ? 2 : 1 };
        }

        if (content.StartsWith("echo:", StringComparison.Ordinal))
            return new Reply(content[5..], null, null);
        if (content is "forever" or "block")
            return new Reply(DefaultReply, null, content);
        return new Reply(DefaultReply, null, null);
    }

    private sealed record Reply(string Text, string? ToolName, string? Mode)
    {
        public int Calls { get; init; } = 1;
    }
}
