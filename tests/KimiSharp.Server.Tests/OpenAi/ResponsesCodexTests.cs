using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using KimiSharp.Chat;
using KimiSharp.Cli.Commands;
using KimiSharp.Engine;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using KimiSharp.Server.Tests.Support;
using KimiSharp.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace KimiSharp.Server.Tests.OpenAi;

/// <summary>
/// Codex CLI 0.169.0, installed from npm into the cache folder and run unmodified, against our server:
/// <c>codex exec</c> on the demo model through <c>kimi serve</c>, and a real tool loop (exec_command) with a
/// scripted model. Codex is configured as a user would (a custom provider with wire_api = "responses")
/// plus settings that keep it offline and its prompt short (the demo model reads ~2K tokens, not Codex's
/// default ~25K, so the test takes seconds on two cores).
/// </summary>
public sealed class ResponsesCodexTests : IDisposable
{
    private const string CodexVersion = "0.169.0";
    private const string ApiKey = "sk-codex-test";
    private readonly string _home = Directory.CreateTempSubdirectory("kimi-codex-home-").FullName;
    private readonly string _work = Directory.CreateTempSubdirectory("kimi-codex-work-").FullName;

    public void Dispose()
    {
        Directory.Delete(_home, recursive: true);
        Directory.Delete(_work, recursive: true);
    }

    [SkippableFact]
    public async Task Codex_exec_says_hello_through_kimi_serve_on_the_demo_model()
    {
        var codex = NpmPackageCache.Require("@openai/codex", CodexVersion, "codex");
        var settings = new ServeSettings(null, new ServerOptions { Port = 0, ApiKey = ApiKey }, ContextLength: 8192,
            Threads: Environment.ProcessorCount, Parallel: 1, Alias: "kimi-demo");
        await using var running = await ServeCommand.StartAsync(settings, TextWriter.Null);
        await running.Loading.WaitAsync(TimeSpan.FromMinutes(2));

        // Random weights write noise, and noise now and then opens Kimi's tool-call section; the Enforcer then
        // completes it as a valid call to a declared tool, which Codex would run (view_image on a noise path,
        // again and again until the context is full). So this run offers Codex no tools at all (no shell,
        // no view_image, no update_plan): the request declares no function, the model cannot call one, and so
        // Codex's output has no ERROR line at all (the bar).
        var run = await RunCodexAsync(codex, running.Server.BaseAddress, "Say hello", TimeSpan.FromMinutes(4),
            ["--sandbox", "read-only"], "unified_exec = false\nshell_tool = false\nview_image = false\n",
            "\n[tools.update_plan]\nenabled = false\n");

        Assert.True(run.ExitCode == 0, $"codex exited with {run.ExitCode}:\n{run.Output}");
        Assert.False(run.Lines.Any(line => line.Contains("ERROR", StringComparison.Ordinal)), run.Output);
        Assert.Contains("provider: kimi", run.Output);
        Assert.Contains("tokens used", run.Output);
    }

    /// <param name="thinking">A thinking model's template (Kimi-K2-Thinking's format): the model reasons before the call,
    /// and its reasoning must come back in the second request through the reasoning item's encrypted_content.</param>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Codex_runs_the_exec_command_kimi_calls_and_sends_its_output_back(bool thinking)
    {
        var codex = NpmPackageCache.Require("@openai/codex", CodexVersion, "codex");
        var tokenizer = Tokenizer.Create(TestVocabulary.Build());
        var model = new ScriptedLanguageModel(tokenizer);
        var template = thinking ? ThinkingEngineServerFixture.Template : KimiChatTemplate.Source;
        using var backend = new EngineChatBackend(new InferenceEngine(model, tokenizer, new EngineOptions { ContextLength = 4096, MaxActiveSequences = 2 }),
            tokenizer, new ChatFormatter(template, "[BOS]", "<|im_end|>"), "kimi-scripted");

        // The real server, with one middleware added to keep the request bodies Codex sends.
        var bodies = new ConcurrentQueue<string>();
        await using var app = KimiServer.Build(backend, new ServerOptions { Port = 0, ApiKey = ApiKey });
        app.Use(async (context, next) =>
        {
            if (context.Request.Path == "/v1/responses")
            {
                context.Request.EnableBuffering();
                bodies.Enqueue(await new StreamReader(context.Request.Body, Encoding.UTF8, leaveOpen: true).ReadToEndAsync());
                context.Request.Body.Position = 0;
            }

            await next(context);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        // The only command is the scripted echo; no sandbox, because CI containers often cannot start bubblewrap.
        var prompt = thinking ? "Please think, then run echo kimi-ok" : "Please run echo kimi-ok";
        var run = await RunCodexAsync(codex, new Uri(address), prompt, TimeSpan.FromMinutes(2), ["--sandbox", "danger-full-access"]);

        Assert.True(run.ExitCode == 0, $"codex exited with {run.ExitCode}:\n{run.Output}");
        Assert.False(run.Lines.Any(line => line.Contains("ERROR", StringComparison.Ordinal)), run.Output);
        Assert.Contains("echo kimi-ok", run.Output);                                           // Codex ran the command…
        Assert.Contains(ScriptedLanguageModel.AnswerScript.Replace("<|im_end|>", ""), run.Output); // …and showed the answer after it

        var requests = bodies.Select(b => JsonDocument.Parse(b).RootElement).ToList();
        Assert.Equal(2, requests.Count);
        var input = requests[1].GetProperty("input").EnumerateArray().ToList();
        var call = Assert.Single(input, i => i.GetProperty("type").GetString() == "function_call");
        Assert.Equal("exec_command", call.GetProperty("name").GetString());
        Assert.Equal("echo kimi-ok", JsonDocument.Parse(call.GetProperty("arguments").GetString()!).RootElement.GetProperty("cmd").GetString());
        var output = Assert.Single(input, i => i.GetProperty("type").GetString() == "function_call_output");
        Assert.Equal(call.GetProperty("call_id").GetString(), output.GetProperty("call_id").GetString());
        Assert.Contains("kimi-ok", output.GetProperty("output").GetString());
        Assert.Contains("kimi-ok", model.LastPrompt); // and the model read it back

        if (thinking)
        {
            // Codex keeps the reasoning item and sends it back with only its encrypted_content, which carries the text.
            var reasoning = Assert.Single(input, i => i.GetProperty("type").GetString() == "reasoning");
            Assert.True(CarriedReasoning.TryDecode(reasoning.GetProperty("encrypted_content").GetString(), out var carried));
            Assert.Equal(ScriptedLanguageModel.ExecReasoning, carried);
            Assert.Contains($"<think>{ScriptedLanguageModel.ExecReasoning}</think>", model.LastPrompt);
        }
    }

    private sealed record CodexRun(int ExitCode, string Output)
    {
        public string[] Lines => Output.Split('\n');
    }

    /// <summary>Runs <c>codex exec</c> with a fresh CODEX_HOME whose config.toml points at <paramref name="server"/>.</summary>
    private async Task<CodexRun> RunCodexAsync(NpmPackage codex, Uri server, string prompt, TimeSpan timeout, string[] flags, string features = "", string extraTables = "")
    {
        File.WriteAllText(Path.Combine(_home, "instructions.md"), "You are a coding agent. Answer briefly.\n");
        File.WriteAllText(Path.Combine(_home, "config.toml"), CodexConfig(server, Path.Combine(_home, "instructions.md"), features) + extraTables);

        var start = new ProcessStartInfo(codex.BinPath)
        {
            WorkingDirectory = _work,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])["exec", "--strict-config", "--skip-git-repo-check", .. flags, "-C", _work, prompt])
            start.ArgumentList.Add(argument);
        start.Environment["CODEX_HOME"] = _home;
        start.Environment["KIMI_API_KEY"] = ApiKey;
        start.Environment["NO_COLOR"] = "1";

        using var process = Process.Start(start)!;
        process.StandardInput.Close(); // codex exec also reads a prompt from stdin
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"codex exec did not finish within {timeout}:\n{await stdout}{await stderr}");
        }

        return new CodexRun(process.ExitCode, await stdout + await stderr);
    }

    /// <summary>
    /// The README's provider block, plus what a test needs: no update check or analytics (offline), no retries
    /// (a failure shows at once), and a short prompt (built-in instructions replaced, optional tools and
    /// instruction blocks off).
    /// </summary>
    internal static string CodexConfig(Uri server, string instructionsFile, string features) => $"""
        model = "kimi"
        model_provider = "kimi"
        check_for_update_on_startup = false
        model_instructions_file = "{instructionsFile}"
        include_permissions_instructions = false
        include_environment_context = false
        include_apps_instructions = false
        web_search = "disabled"
        project_doc_max_bytes = 0

        [model_providers.kimi]
        name = "KimiSharp"
        base_url = "{new Uri(server, "/v1")}"
        env_key = "KIMI_API_KEY"
        wire_api = "responses"
        request_max_retries = 0
        stream_max_retries = 0

        [features]
        {features}goals = false
        apps = false
        plugins = false
        image_generation = false
        shell_snapshot = false
        skill_search = false
        tool_suggest = false
        sleep_tool = false

        [agents]
        enabled = false

        [analytics]
        enabled = false

        [skills]
        include_instructions = false

        [tools.experimental_request_user_input]
        enabled = false
        """;
}
