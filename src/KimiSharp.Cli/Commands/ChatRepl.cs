using System.Text.Json;
using System.Text.Json.Serialization;
using KimiSharp.Chat;
using KimiSharp.Engine;
using KimiSharp.Sampling;

namespace KimiSharp.Cli.Commands;

/// <summary>
/// The `kimi chat` loop: reads lines, streams answers, keeps the history. Commands: /reset, /system TEXT,
/// /save FILE, /help, /exit. <see cref="CancelAnswer"/> (Ctrl-C) stops the answer being generated and the
/// loop goes on; the partial answer stays in the history.
/// </summary>
internal sealed class ChatRepl(LocalModel model, ChatSettings settings, TextReader input, TextWriter output, TextWriter error)
{
    private readonly List<ChatMessage> _history = [];
    private readonly Lock _lock = new();
    private string? _system = settings.System;
    private CancellationTokenSource? _answer;

    public IReadOnlyList<ChatMessage> History => _history;

    /// <summary>Stops the answer in progress; false when none is running (then Ctrl-C should end the program).</summary>
    public bool CancelAnswer()
    {
        lock (_lock)
        {
            if (_answer is null) return false;
            _answer.Cancel();
            return true;
        }
    }

    public async Task<int> RunAsync(CancellationToken ct)
    {
        using var engine = new InferenceEngine(model.Model, model.Tokenizer,
            new EngineOptions { ContextLength = settings.ContextLength, MaxActiveSequences = 1 });
        output.WriteLine("Type a message; /help for commands, /exit to leave.");
        while (!ct.IsCancellationRequested)
        {
            output.Write("> ");
            output.Flush();
            string? line = await input.ReadLineAsync(ct);
            if (line is null) break;
            line = line.Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith('/'))
            {
                if (!Command(line)) break;
                continue;
            }
            await AnswerAsync(engine, line, ct);
        }
        output.WriteLine();
        return 0;
    }

    /// <summary>Runs a slash command; false for /exit.</summary>
    private bool Command(string line)
    {
        int space = line.IndexOf(' ');
        string name = (space < 0 ? line : line[..space]).ToLowerInvariant();
        string arg = space < 0 ? "" : line[(space + 1)..].Trim();
        switch (name)
        {
            case "/exit" or "/quit" or "/bye":
                return false;
            case "/reset":
                _history.Clear();
                output.WriteLine("(history cleared)");
                break;
            case "/system":
                _system = arg.Length == 0 ? null : arg;
                output.WriteLine(_system is null ? "(system prompt removed)" : "(system prompt set)");
                break;
            case "/save":
                if (arg.Length == 0)
                {
                    output.WriteLine("usage: /save FILE");
                    break;
                }
                var messages = Conversation().Select(m => new SavedMessage(m.Role, m.Content ?? "")).ToList();
                File.WriteAllText(arg, JsonSerializer.Serialize(messages, ChatSaveJson.Default.ListSavedMessage));
                output.WriteLine($"(saved {messages.Count} messages to {arg})");
                break;
            case "/help":
                output.WriteLine("/reset  forget the conversation\n/system TEXT  set the system prompt (empty: remove)\n/save FILE  write the conversation as JSON\n/exit  leave\nCtrl-C stops an answer.");
                break;
            default:
                output.WriteLine($"unknown command {name}; /help lists them");
                break;
        }
        return true;
    }

    private List<ChatMessage> Conversation()
    {
        var all = new List<ChatMessage>();
        if (_system is not null) all.Add(new ChatMessage("system", _system));
        all.AddRange(_history);
        return all;
    }

    private async Task AnswerAsync(InferenceEngine engine, string userText, CancellationToken ct)
    {
        _history.Add(new ChatMessage("user", userText));
        int[] prompt = model.EncodeChat(Conversation());
        var request = new GenerationRequest(prompt) { Sampling = settings.Sampling, MaxTokens = settings.MaxTokens };
        System.Threading.Channels.ChannelReader<GenerationEvent> stream;
        using var answer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            stream = engine.Submit(request, answer.Token);
        }
        catch (ContextOverflowException e)
        {
            _history.RemoveAt(_history.Count - 1);
            error.WriteLine($"error: {e.Message}; /reset starts a new conversation");
            return;
        }
        lock (_lock) _answer = answer;
        var text = new System.Text.StringBuilder();
        FinishEvent? finish = null;
        try
        {
            await foreach (var e in stream.ReadAllAsync(CancellationToken.None))
            {
                string delta = e switch { TokenEvent t => t.TextDelta, TextEvent t => t.TextDelta, _ => "" };
                if (e is FinishEvent f) finish = f;
                if (delta.Length == 0) continue;
                text.Append(delta);
                output.Write(delta);
                output.Flush();
            }
        }
        finally
        {
            lock (_lock) _answer = null;
        }
        output.WriteLine();
        _history.Add(new ChatMessage("assistant", text.ToString()));
        var timings = finish!.Timings;
        string stopped = finish.Reason switch
        {
            FinishReason.Cancelled => ", stopped",
            FinishReason.Length => ", length limit",
            _ => "",
        };
        output.WriteLine($"[{finish.Usage.CompletionTokens} tokens, {timings.DecodeTokensPerSecond:F1} tok/s{stopped}]");
        if (settings.Verbose) error.WriteLine(RunCommand.Describe(finish));
    }
}

internal sealed record ChatSettings(string? System, SamplingParams Sampling, int? MaxTokens, int ContextLength, bool Verbose);

internal sealed record SavedMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content);

[JsonSerializable(typeof(List<SavedMessage>))]
[JsonSourceGenerationOptions(WriteIndented = true)]
internal sealed partial class ChatSaveJson : JsonSerializerContext;
