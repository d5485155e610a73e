using System.Text.Json;
using KimiSharp.Cli.Commands;
using KimiSharp.Sampling;

namespace KimiSharp.Tests.Cli;

// In-process CLI runs write to the process-wide Console: never in parallel with tests that capture it.
[Collection("Console")]
public sealed class ChatReplTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kimisharp-chat-" + Guid.NewGuid().ToString("N"));

    public ChatReplTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ChatSettings Settings(int? maxTokens = null) => new(null, SamplingParams.Greedy, maxTokens, 4096, Verbose: false);

    [Fact]
    public async Task Chat_streams_answers_keeps_history_and_runs_commands_from_redirected_stdin()
    {
        var (model, network, tokenizer) = CliTestModel.Answering("Hi, I am Kimi.");
        string save = Path.Combine(_dir, "chat.json");
        var input = new StringReader($"hello\n/system Be brief.\nsecond question\n/save {save}\n/reset\nthird\n/exit\nnever read\n");
        var output = new StringWriter();
        var repl = new ChatRepl(model, Settings(), input, output, TextWriter.Null);

        Assert.Equal(0, await repl.RunAsync(CancellationToken.None));

        string text = output.ToString();
        Assert.Equal(3, CountOf(text, "Hi, I am Kimi.\n"));
        Assert.Equal(3, CountOf(text, " tok/s]"));
        Assert.Contains("(system prompt set)", text);
        Assert.Contains("(history cleared)", text);

        // The saved conversation: system prompt, then both turns of history.
        var saved = JsonDocument.Parse(File.ReadAllText(save)).RootElement;
        Assert.Equal(["system", "user", "assistant", "user", "assistant"], saved.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("Be brief.", saved[0].GetProperty("content").GetString());
        Assert.Equal("Hi, I am Kimi.", saved[2].GetProperty("content").GetString());

        // After /reset the third prompt holds only the system prompt and "third".
        Assert.Equal(["system", "user", "assistant"], repl.History.Select(m => m.Role).Prepend("system"));
        Assert.Equal("third", repl.History[0].Content);

        // The second prompt carried the first turn (history); the first prompt did not.
        var prompts = network.Steps.SelectMany(s => s.Segments).Where(g => g.Tokens.Length > 1).Select(g => tokenizer.Decode(g.History)).ToList();
        Assert.Equal(3, prompts.Count);
        Assert.DoesNotContain("Hi, I am Kimi.", prompts[0]);
        Assert.Contains("hello", prompts[1]);
        Assert.Contains("Hi, I am Kimi.", prompts[1]);
        Assert.Contains("Be brief.", prompts[1]);
        Assert.DoesNotContain("hello", prompts[2]);
    }

    [Fact]
    public async Task Cancelling_stops_the_current_answer_and_the_chat_goes_on()
    {
        var (model, network, _) = CliTestModel.Answering(string.Concat(Enumerable.Repeat("word ", 200)));
        var input = new StringReader("tell me a long story\nshort one\n/exit\n");
        var output = new StringWriter();
        var repl = new ChatRepl(model, Settings(), input, output, TextWriter.Null);
        network.OnForward = calls =>
        {
            if (calls == 5) Assert.True(repl.CancelAnswer());
        };

        Assert.Equal(0, await repl.RunAsync(CancellationToken.None));

        string text = output.ToString();
        Assert.Contains("stopped]", text);
        Assert.Equal(2, CountOf(text, " tok/s"));
        Assert.False(repl.CancelAnswer()); // nothing running now: Ctrl-C would end the program
        Assert.Equal(4, repl.History.Count);
        Assert.True(repl.History[1].Content!.Length < 200 * 5, "the first answer was cut short");
    }

    [Fact]
    public async Task A_conversation_too_long_for_the_context_is_an_error_not_a_crash()
    {
        var (model, _, _) = CliTestModel.Answering("ok");
        var input = new StringReader(string.Concat(Enumerable.Repeat("word ", 100)) + "\nhi\n/exit\n");
        var output = new StringWriter();
        var error = new StringWriter();
        var repl = new ChatRepl(model, Settings() with { ContextLength = 60 }, input, output, error);
        Assert.Equal(0, await repl.RunAsync(CancellationToken.None));
        Assert.Contains("/reset", error.ToString());
        Assert.Contains("ok\n", output.ToString());
    }

    private static int CountOf(string text, string part)
    {
        int count = 0, at = 0;
        while ((at = text.IndexOf(part, at, StringComparison.Ordinal)) >= 0) { count++; at += part.Length; }
        return count;
    }
}
