using System.CommandLine;
using KimiSharp.Demo;
using KimiSharp.Engine;
using KimiSharp.Models.DeepSeek2;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Cli.Commands;

/// <summary>
/// <c>kimi serve</c>: OpenAI- and Anthropic-compatible HTTP APIs over one model (llama-server-like flags), and a chat page at /.
/// The listener starts at once and answers /health with "loading" until the model is ready.
/// </summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m") { Description = "GGUF file (any part of a split set); default: the built-in demo model (random weights)" };
        var host = new Option<string>("--host") { Description = "Address to bind (loopback unless told otherwise)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "TCP port (0 = any free port)", DefaultValueFactory = _ => 8080 };
        var apiKey = new Option<string?>("--api-key") { Description = "Require this key as 'Authorization: Bearer KEY' or 'x-api-key: KEY' (default: $KIMI_API_KEY, else no key)" };
        var ctx = new Option<int>("--ctx", "-c") { Description = "Context length per sequence in tokens (default: the model's trained context, capped so the KV caches fit in memory)", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads", "-t") { Description = "Worker threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var alias = new Option<string?>("--alias", "-a") { Description = "Model name reported by /v1/models and in responses (default: the file name)" };
        var parallel = new Option<int>("--parallel", "-np") { Description = "Sequences generated at the same time", DefaultValueFactory = _ => 4 };
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests admitted at once (running + waiting); more get 429", DefaultValueFactory = _ => 64 };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Largest request body; larger ones get 413", DefaultValueFactory = _ => 16L * 1024 * 1024 };
        var factor = new Option<float>("--anthropic-temperature-factor") { Description = "Anthropic requests sample at temperature × factor (Moonshot: 0.6)", DefaultValueFactory = _ => 0.6f };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log every request" };
        var exact = ExactOption.Create();
        var noEnforce = new Option<bool>("--no-enforce") { Description = "Do not constrain decoding (by default tool calls follow Kimi's format with declared names and schema-valid arguments, and response formats / grammars are enforced)" };
        var batching = new ServeBatchingOptions();

        var noWebUi = new Option<bool>("--no-webui") { Description = "Do not serve the chat page at /" };

        var command = new Command("serve", "Serve a model over OpenAI- and Anthropic-compatible HTTP APIs");
        foreach (var option in new Option[] { model, host, port, apiKey, ctx, threads, alias, parallel, maxQueue, maxBody, factor, verbose, exact, noEnforce, noWebUi }.Concat(batching.All))
            command.Options.Add(option);

        command.SetAction((result, cancellationToken) => CliErrors.GuardAsync(async () =>
        {
            var settings = new ServeSettings(
                result.GetValue(model),
                new ServerOptions
                {
                    Host = result.GetValue(host)!,
                    Port = result.GetValue(port),
                    ApiKey = result.GetValue(apiKey) ?? NullIfEmpty(Environment.GetEnvironmentVariable("KIMI_API_KEY")),
                    MaxBodyBytes = result.GetValue(maxBody),
                    MaxQueuedRequests = result.GetValue(maxQueue),
                    AnthropicTemperatureFactor = result.GetValue(factor),
                    Verbose = result.GetValue(verbose),
                    WebUi = !result.GetValue(noWebUi),
                },
                result.GetValue(ctx),
                result.GetValue(threads),
                result.GetValue(parallel),
                result.GetValue(alias),
                result.GetValue(exact),
                NoEnforce: result.GetValue(noEnforce)) { Batching = batching.Read(result) };
            await using var running = await StartAsync(settings, Console.Error, cancellationToken);
            Console.Error.WriteLine($"kimi serve: listening on {running.Server.BaseAddress} (OpenAI: {running.Server.BaseAddress}v1, Anthropic: {running.Server.BaseAddress}{(settings.Server.WebUi ? $", chat page: {running.Server.BaseAddress}" : "")})");
            return await running.RunUntilStoppedAsync(cancellationToken);
        }));
        return command;
    }

    /// <summary>Validates settings, starts the listener and begins loading the model in the background.</summary>
    internal static async Task<RunningServer> StartAsync(ServeSettings settings, TextWriter log, CancellationToken cancellationToken = default)
    {
        settings.Validate();
        var name = settings.Alias ?? (settings.ModelPath is null ? Path.GetFileNameWithoutExtension(DemoModel.FileName) : ModelName(settings.ModelPath));
        var loading = Task.Run(() => Load(settings, name, log), CancellationToken.None);
        var backend = new LoadingChatBackend(loading, new ModelDescription(name, Math.Max(settings.ContextLength, 1), 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds()));
        var server = await KimiServer.StartAsync(backend, settings.Server, cancellationToken);
        return new RunningServer(server, loading, log);
    }

    private static IChatBackend Load(ServeSettings settings, string name, TextWriter log)
    {
        var local = LocalModel.Open(settings.ModelPath, settings.Threads, log, exact: settings.Exact,
            kvType: settings.Batching.EffectiveKvType(settings.Exact));
        try
        {
            int context = settings.ContextLength;
            if (context == 0)
            {
                var (tokens, reason) = ServeContext.Choose(local.Model.TrainedContextLength, local.Model.KvBytesPerToken, settings.Parallel,
                    local.Model is DeepSeek2Model deepseek ? deepseek.File.TotalFileSize : 0, MemorySnapshot.Current());
                context = tokens;
                log.WriteLine($"kimi serve: context {tokens} tokens: {reason}");
            }

            long fileBytes = local.Model is DeepSeek2Model m ? m.File.TotalFileSize : new FileInfo(local.Path).Length;
            var engine = new InferenceEngine(local.Model, local.Tokenizer, settings.Batching.EngineOptions(local.Model, fileBytes,
                context, settings.Parallel, settings.Server.MaxQueuedRequests, settings.Exact, log));
            var enforcement = new EnforcementOptions(
                Enabled: !settings.NoEnforce,
                ReasoningEnd: EnforcementOptions.ReasoningEndOf(local.ChatTemplate),
                Log: settings.Server.Verbose ? message => log.WriteLine($"kimi serve: {message}") : null);
            var backend = new EngineChatBackend(engine, local.Tokenizer, local.Formatter, name, enforcement: enforcement);
            log.WriteLine($"kimi serve: model '{name}' ready ({local.Path}, context {engine.ContextLength}, {settings.Parallel} parallel sequences)");
            return new OwningBackend(backend, local);
        }
        catch
        {
            local.Dispose();
            throw;
        }
    }

    /// <summary>"Kimi-K2-Instruct-0905-UD-Q2_K_XL-00001-of-00008.gguf" → "Kimi-K2-Instruct-0905-UD-Q2_K_XL".</summary>
    internal static string ModelName(string path) => LocalModel.NameOf(path);

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    /// <summary>A backend that also owns the model it runs (disposed together).</summary>
    private sealed class OwningBackend(EngineChatBackend inner, LocalModel model) : IChatBackend, IEngineStatsSource, IDisposable
    {
        public BackendState State => inner.State;
        public ModelDescription Model => inner.Model;
        public int QueueDepth => inner.QueueDepth;
        public int InFlight => inner.InFlight;
        public EngineStats? EngineStats => inner.EngineStats;
        public PreparedPrompt PrepareChat(ChatPromptRequest request) => inner.PrepareChat(request);
        public PreparedPrompt PrepareText(string prompt) => inner.PrepareText(prompt);
        public PreparedPrompt PrepareTokens(IReadOnlyList<int> tokens) => inner.PrepareTokens(tokens);
        public int[] Tokenize(string text, bool addSpecial, bool parseSpecial) => inner.Tokenize(text, addSpecial, parseSpecial);
        public string Detokenize(IReadOnlyList<int> tokens) => inner.Detokenize(tokens);
        public string TokenPiece(int token) => inner.TokenPiece(token);
        public void ValidateFormat(OutputFormat format) => inner.ValidateFormat(format);

        public IAsyncEnumerable<GenerationUpdate> GenerateAsync(PreparedPrompt prompt, Server.Backend.GenerationOptions options, CancellationToken cancellationToken) =>
            inner.GenerateAsync(prompt, options, cancellationToken);

        public void Dispose()
        {
            inner.Dispose();
            model.Dispose();
        }
    }
}

/// <summary>Everything <c>kimi serve</c> was told.</summary>
internal sealed record ServeSettings(string? ModelPath, ServerOptions Server, int ContextLength, int Threads, int Parallel, string? Alias, bool Exact = false, bool NoEnforce = false)
{
    /// <summary>Batching, KV cache and prefix cache flags.</summary>
    public ServeBatchingSettings Batching { get; init; } = new();

    public void Validate()
    {
        Batching.Validate(Parallel);
        if (Server.Port is < 0 or > 65535) throw new ArgumentException($"--port must be 0–65535 (got {Server.Port})");
        if (!System.Net.IPAddress.TryParse(Server.Host, out _) && Server.Host != "localhost")
            throw new ArgumentException($"--host must be an IP address or 'localhost' (got '{Server.Host}')");
        if (ContextLength < 0) throw new ArgumentException($"--ctx must be >= 0 (got {ContextLength})");
        if (Threads < 1) throw new ArgumentException($"--threads must be >= 1 (got {Threads})");
        if (Parallel < 1) throw new ArgumentException($"--parallel must be >= 1 (got {Parallel})");
        if (Server.MaxQueuedRequests < 1) throw new ArgumentException($"--max-queue must be >= 1 (got {Server.MaxQueuedRequests})");
        if (Server.MaxBodyBytes < 1024) throw new ArgumentException($"--max-body-bytes must be >= 1024 (got {Server.MaxBodyBytes})");
        if (!float.IsFinite(Server.AnthropicTemperatureFactor) || Server.AnthropicTemperatureFactor < 0)
            throw new ArgumentException($"--anthropic-temperature-factor must be >= 0 (got {Server.AnthropicTemperatureFactor})");
        if (ModelPath is not null && !File.Exists(ModelPath)) throw new FileNotFoundException($"model file not found: {ModelPath}");
    }
}

/// <summary>A started <c>kimi serve</c>: the listener plus the model load in progress.</summary>
internal sealed class RunningServer(KimiServer server, Task<IChatBackend> loading, TextWriter log) : IAsyncDisposable
{
    public KimiServer Server { get; } = server;

    public Task<IChatBackend> Loading { get; } = loading;

    /// <summary>Serves until cancelled (0), or returns 1 when the model fails to load.</summary>
    public async Task<int> RunUntilStoppedAsync(CancellationToken cancellation)
    {
        // Ctrl+C reaches System.CommandLine's token, SIGTERM the host's lifetime: either one stops the server.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation, Server.Stopping);
        var cancellationToken = stop.Token;
        try
        {
            await Loading.WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.WriteLine($"error: the model failed to load: {e.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        log.WriteLine("kimi serve: stopped");
        return 0;
    }

    /// <summary>
    /// Stops listening and, at the same time, stops the engine (it ends the step in flight between two layers), so requests
    /// still generating end now instead of holding the graceful shutdown for its whole timeout (a long prompt on SIGTERM).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var stopping = Server.DisposeAsync().AsTask();
        if (Loading.IsCompletedSuccessfully && Loading.Result is IDisposable disposable)
            disposable.Dispose();
        await stopping;
    }
}
