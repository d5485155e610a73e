using System.Net;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using KimiSharp.Cli.Commands;
using KimiSharp.Server.Hosting;
using KimiSharp.TestModels;
using OpenAI;
using OpenAI.Chat;

namespace KimiSharp.Server.Tests.Cli;

/// <summary><c>kimi serve</c> end to end on a generated kimi-tiny GGUF (real model, tokenizer and template).</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("kimi-serve-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Serve_loads_a_gguf_and_answers_both_sdks()
    {
        var path = Path.Combine(_directory, "kimi-tiny-00001-of-00001.gguf");
        TestModelWriter.Write(TestModelSpec.KimiTiny with { Seed = 7 }, path);
        var settings = new ServeSettings(path, new ServerOptions { Port = 0, ApiKey = "k" }, ContextLength: 256, Threads: 1, Parallel: 2, Alias: null);

        await using var running = await ServeCommand.StartAsync(settings, TextWriter.Null);
        await running.Loading.WaitAsync(TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = running.Server.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);

        var chat = new ChatClient("kimi-tiny", new System.ClientModel.ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(running.Server.BaseAddress, "/v1") });
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hello!")], new ChatCompletionOptions { MaxOutputTokenCount = 4, Temperature = 0 });
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 4);
        Assert.True(completion.Usage.InputTokenCount > 5);

        var anthropic = new AnthropicClient { ApiKey = "k", BaseUrl = running.Server.BaseAddress.ToString().TrimEnd('/'), MaxRetries = 0, ResponseValidation = true };
        var message = await anthropic.Messages.Create(new MessageCreateParams { Model = "kimi-tiny", MaxTokens = 3, Messages = [new UserMessageParam("Hi")] });
        Assert.InRange(message.Usage.OutputTokens, 1, 3);

        var models = JsonDocument.Parse(await new HttpClient { BaseAddress = running.Server.BaseAddress, DefaultRequestHeaders = { { "x-api-key", "k" } } }.GetStringAsync("/v1/models"));
        Assert.Equal("kimi-tiny", models.RootElement.GetProperty("data")[0].GetProperty("id").GetString()); // split suffix dropped
        Assert.Equal(256, models.RootElement.GetProperty("data")[0].GetProperty("meta").GetProperty("n_ctx").GetInt32());
    }

    /// <summary>
    /// The demo shape at the full 256K context with a Q8_0 latent cache: starts (blocks are taken as sequences grow),
    /// prints the bytes per token, reports the context in /v1/models, answers, and exposes the router metrics.
    /// </summary>
    [Fact]
    public async Task Serve_runs_a_262144_token_context_with_a_q8_0_cache_and_reports_it()
    {
        var path = Path.Combine(_directory, "kimi-tiny.gguf");
        TestModelWriter.Write(TestModelSpec.KimiTiny with { Seed = 7 }, path);
        var log = new StringWriter();
        var settings = new ServeSettings(path, new ServerOptions { Port = 0 }, ContextLength: 262144, Threads: 1, Parallel: 2, Alias: "demo")
        {
            Batching = new ServeBatchingSettings(KvType: KimiSharp.Models.DeepSeek2.KvCacheType.Q8_0),
        };
        await using var running = await ServeCommand.StartAsync(settings, log);
        await running.Loading.WaitAsync(TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = running.Server.BaseAddress };
        var models = JsonDocument.Parse(await http.GetStringAsync("/v1/models"));
        Assert.Equal(262144, models.RootElement.GetProperty("data")[0].GetProperty("meta").GetProperty("n_ctx").GetInt32());
        // kimi-tiny: 4 layers × a 64 + 16 value row in Q8_0 padded to 3 blocks of 34 bytes.
        Assert.Contains("KV cache q8_0, 408 bytes/token", log.ToString());

        var chat = new ChatClient("demo", new System.ClientModel.ApiKeyCredential("none"), new OpenAIClientOptions { Endpoint = new Uri(running.Server.BaseAddress, "/v1") });
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hello!")], new ChatCompletionOptions { MaxOutputTokenCount = 3, Temperature = 0 });
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 3);

        string metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("vllm:num_requests_running{model_name=\"demo\"} 0", metrics);
        Assert.Contains("vllm:num_requests_waiting{model_name=\"demo\"} 0", metrics);
        Assert.Contains("vllm:kv_cache_usage_perc{model_name=\"demo\"} 0", metrics);
        Assert.Matches(@"vllm:prefix_cache_queries_total\{model_name=""demo""\} [1-9]", metrics);
        Assert.Contains("vllm:prefix_cache_hits_total{model_name=\"demo\"}", metrics);
        Assert.Contains("vllm:time_to_first_token_seconds_count{model_name=\"demo\"} 1", metrics);
        Assert.Contains("kimi_kv_blocks_sequences 0", metrics);
    }

    [Fact]
    public async Task A_context_whose_kv_cache_cannot_fit_memory_fails_at_start_with_what_fits()
    {
        var path = Path.Combine(_directory, "kimi-tiny.gguf");
        TestModelWriter.Write(TestModelSpec.KimiTiny with { Seed = 7 }, path);
        var log = new StringWriter();
        // 2^31 − 1 tokens of F32 latent rows (4 × 80 × 4 = 1280 bytes each) is 2.5 TiB.
        var settings = new ServeSettings(path, new ServerOptions { Port = 0 }, ContextLength: int.MaxValue, Threads: 1, Parallel: 1, Alias: null)
        {
            Batching = new ServeBatchingSettings(KvType: KimiSharp.Models.DeepSeek2.KvCacheType.F32),
        };
        await using var running = await ServeCommand.StartAsync(settings, log);
        Assert.Equal(1, await running.RunUntilStoppedAsync(CancellationToken.None));
        Assert.Contains("1,280 bytes per token", log.ToString());
        Assert.Matches(@"a context up to [\d,]+ tokens fits", log.ToString());
    }

    [Theory]
    [InlineData("Kimi-K2-Instruct-0905-UD-Q2_K_XL-00001-of-00008.gguf", "Kimi-K2-Instruct-0905-UD-Q2_K_XL")]
    [InlineData("/models/tiny.gguf", "tiny")]
    public void Model_name_drops_directory_extension_and_split_suffix(string path, string expected) =>
        Assert.Equal(expected, ServeCommand.ModelName(path));

    [Theory]
    [InlineData(70000, "127.0.0.1", 1, "--port")]
    [InlineData(8080, "not-a-host", 1, "--host")]
    [InlineData(8080, "127.0.0.1", 0, "--threads")]
    public void Bad_flags_are_rejected_with_the_flag_named(int port, string host, int threads, string flag)
    {
        var settings = new ServeSettings(null, new ServerOptions { Port = port, Host = host }, 4096, threads, 1, null);
        var error = Assert.ThrowsAny<ArgumentException>(settings.Validate);
        Assert.Contains(flag, error.Message);
    }

    [Theory]
    [InlineData("--batch", 2, 0, null)]
    [InlineData("--cache-ram", 512, -1, null)]
    [InlineData("--cache-dir", 512, 1, "")]
    public void Bad_batching_flags_are_rejected_with_the_flag_named(string flag, int batch, double cacheRam, string? cacheDir)
    {
        var settings = new ServeSettings(null, new ServerOptions(), 4096, 1, 4, null) { Batching = new ServeBatchingSettings(batch, null, cacheRam, cacheDir) };
        var error = Assert.ThrowsAny<ArgumentException>(settings.Validate);
        Assert.Contains(flag, error.Message);
        Assert.Contains("--kv-type", Assert.Throws<ArgumentException>(() => ServeBatchingOptions.ParseKvType("q4")).Message);
    }
}
