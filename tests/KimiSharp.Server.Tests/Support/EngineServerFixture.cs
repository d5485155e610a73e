using System.ClientModel;
using Anthropic;
using KimiSharp.Chat;
using KimiSharp.Engine;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using KimiSharp.Text;
using OpenAI;
using OpenAI.Chat;

namespace KimiSharp.Server.Tests.Support;

/// <summary>
/// A real server over the real stack — <see cref="InferenceEngine"/>, the test vocabulary's tokenizer, the
/// Kimi chat template, the streaming decoder and the tool-call parser — with only the model scripted.
/// </summary>
public sealed class EngineServerFixture : IAsyncLifetime
{
    internal ScriptedLanguageModel Model { get; private set; } = null!;

    public EngineChatBackend Backend { get; private set; } = null!;

    public KimiServer Server { get; private set; } = null!;

    public Tokenizer Tokenizer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var tokenizer = Tokenizer = Tokenizer.Create(TestVocabulary.Build());
        Model = new ScriptedLanguageModel(tokenizer);
        var engine = new InferenceEngine(Model, tokenizer, new EngineOptions { ContextLength = 4096, MaxActiveSequences = 4 });
        Backend = new EngineChatBackend(engine, tokenizer, new ChatFormatter(KimiChatTemplate.Source, "[BOS]", "<|im_end|>"), "kimi-scripted");
        Server = await KimiServer.StartAsync(Backend, new ServerOptions { Port = 0 });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Backend.Dispose();
    }

    public ChatClient OpenAiChat() =>
        new("kimi-scripted", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "/v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });

    public AnthropicClient Anthropic() =>
        new() { ApiKey = "unused", BaseUrl = Server.BaseAddress.ToString().TrimEnd('/'), MaxRetries = 0, ResponseValidation = true };
}
