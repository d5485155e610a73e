using System.ClientModel;
using System.Net.Http.Headers;
using Anthropic;
using KimiSharp.Server.Hosting;
using OpenAI;
using OpenAI.Chat;

namespace KimiSharp.Server.Tests.Support;

/// <summary>One real Kestrel server on 127.0.0.1 (port 0) shared by a test class, with an API key.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string ApiKey = "sk-test-7f3a";

    internal ScriptedChatBackend Backend { get; } = new();

    public KimiServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public Uri BaseAddress => Server.BaseAddress;

    public async Task InitializeAsync()
    {
        Server = await KimiServer.StartAsync(Backend, new ServerOptions { Port = 0, ApiKey = ApiKey, MaxBodyBytes = 256 * 1024 });
        Http = new HttpClient { BaseAddress = Server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }

    public ChatClient OpenAiChat(string key = ApiKey) =>
        new("kimi-test", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(30), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });

    public AnthropicClient Anthropic(string key = ApiKey) =>
        new() { ApiKey = key, BaseUrl = BaseAddress.ToString().TrimEnd('/'), MaxRetries = 0, ResponseValidation = true, Timeout = TimeSpan.FromSeconds(30) };
}
