using System.Net.Http.Json;
using System.Text.Json;
using KimiSharp.Chat;
using KimiSharp.Cli.Commands;
using KimiSharp.Engine;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using KimiSharp.Server.Tests.Support;
using KimiSharp.Text;

namespace KimiSharp.Server.Tests.Anthropic;

/// <summary>
/// Claude Code 2.1.328 itself, unmodified, against our server (installed with npm into the cache folder; skipped
/// with the reason when npm or its registry is unreachable). One run against <c>kimi serve</c> on the demo model
/// with no flags, one real tool loop against a scripted model hosted in the test.
/// </summary>
public sealed class ClaudeCodeEndToEndTests
{
    [SkippableFact]
    public async Task Claude_code_gets_an_answer_from_kimi_serve_on_the_demo_model_with_no_flags()
    {
        using var claude = ClaudeCodeCli.Require();
        var log = new StringWriter();
        var settings = new ServeSettings(null, new ServerOptions { Port = 0, ApiKey = "sk-demo" }, ContextLength: 0,
            Threads: Environment.ProcessorCount, Parallel: 4, Alias: null);
        await using var running = await ServeCommand.StartAsync(settings, TextWriter.Synchronized(log));
        await running.Loading.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Matches(@"kimi serve: context \d+ tokens: ", log.ToString());

        // Claude Code's full first request (captured from this version) fits the context the server chose by itself.
        using var http = new HttpClient { BaseAddress = running.Server.BaseAddress, DefaultRequestHeaders = { { "x-api-key", "sk-demo" } } };
        using var count = await http.PostAsync("/v1/messages/count_tokens?beta=true", ClaudeCodeFixtures.Content("first-request.json"));
        var promptTokens = (await count.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("input_tokens").GetInt32();
        Assert.InRange(promptTokens, 10_000, running.Server.State.Backend.Model.ContextLength - 1);

        // The demo model's answers are noise of a few hundred tokens: a short system prompt and no tools keep the
        // prompt evaluation on this 4-layer model to seconds (the full 13K-token prompt would take minutes on 2 cores).
        var result = await claude.PrintAsync(running.Server.BaseAddress, "sk-demo", "Say hello",
            ["--system-prompt", "Reply with one short sentence.", "--tools", ""], TimeSpan.FromMinutes(5));
        Assert.False(result.IsError, result.ToString());
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("success", result.Json.GetProperty("subtype").GetString());
    }

    /// <param name="thinking">A thinking model's template (Kimi-K2-Thinking's format): the model reasons before the call;
    /// Claude Code (display omitted) returns the thinking block with only its signature, which carries the reasoning back.</param>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Claude_code_runs_the_models_bash_call_and_sends_its_output_back_as_tool_result(bool thinking)
    {
        using var claude = ClaudeCodeCli.Require();
        var tokenizer = Tokenizer.Create(TestVocabulary.Build());
        var model = new ScriptedLanguageModel(tokenizer);
        var engine = new InferenceEngine(model, tokenizer, new EngineOptions { ContextLength = 65536, MaxActiveSequences = 2 });
        var template = thinking ? ThinkingEngineServerFixture.Template : KimiChatTemplate.Source;
        using var backend = new EngineChatBackend(engine, tokenizer, new ChatFormatter(template, "[BOS]", "<|im_end|>"), "kimi-scripted");
        await using var server = await RecordingServer.StartAsync(backend, new ServerOptions { Port = 0, ApiKey = "sk-loop" });

        var prompt = thinking ? "Please think, then run echo kimi-ok" : "Please run: echo kimi-ok";
        var result = await claude.PrintAsync(server.BaseAddress, "sk-loop", prompt, ["--allowedTools", "Bash(echo:*)"], TimeSpan.FromMinutes(3));

        Assert.False(result.IsError, result.ToString());
        Assert.Equal("The command printed kimi-ok.", result.Result);
        var turns = server.Requests.Where(r => r.Path.StartsWith("/v1/messages", StringComparison.Ordinal) && !r.Path.Contains("count_tokens")).ToList();
        Assert.Equal(2, turns.Count);

        // The second request carries the model's Bash call and, answering its id, the command's real output.
        using var second = JsonDocument.Parse(turns[1].Body);
        var messages = second.RootElement.GetProperty("messages").EnumerateArray().ToList();
        var toolUse = messages[^2].GetProperty("content").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "tool_use");
        Assert.Equal("Bash", toolUse.GetProperty("name").GetString());
        Assert.Equal("echo kimi-ok", toolUse.GetProperty("input").GetProperty("command").GetString());
        var toolResult = messages[^1].GetProperty("content").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "tool_result");
        Assert.Equal(toolUse.GetProperty("id").GetString(), toolResult.GetProperty("tool_use_id").GetString());
        Assert.False(toolResult.TryGetProperty("is_error", out var isError) && isError.GetBoolean());
        Assert.Equal("kimi-ok", ToolResultText(toolResult).Trim()); // "echo " gone: the shell ran it

        if (thinking)
        {
            var block = messages[^2].GetProperty("content").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "thinking");
            Assert.True(CarriedReasoning.TryDecode(block.GetProperty("signature").GetString(), out var carried));
            Assert.Equal(ScriptedLanguageModel.ExecReasoning, carried);
            Assert.Contains($"<think>{ScriptedLanguageModel.ExecReasoning}</think>", model.LastPrompt);
        }
    }

    private static string ToolResultText(JsonElement toolResult)
    {
        var content = toolResult.GetProperty("content");
        return content.ValueKind == JsonValueKind.String
            ? content.GetString()!
            : string.Concat(content.EnumerateArray().Select(b => b.GetProperty("text").GetString()));
    }
}
