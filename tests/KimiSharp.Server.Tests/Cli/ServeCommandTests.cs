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
}
