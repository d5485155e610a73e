using KimiSharp.Engine;

namespace KimiSharp.ChatClient.Tests;

/// <summary>One <see cref="KimiChatClient"/> on the built-in demo model (random weights) for the whole collection.</summary>
public sealed class DemoChatClientFixture : IDisposable
{
    public KimiChatClient Client { get; } = new(modelPath: null, new KimiChatClientOptions
    {
        Threads = 2,
        Engine = new EngineOptions { ContextLength = 2048, MaxActiveSequences = 4 },
    });

    public void Dispose() => Client.Dispose();
}

[CollectionDefinition(Name)]
public sealed class DemoChatClientCollection : ICollectionFixture<DemoChatClientFixture>
{
    public const string Name = "demo chat client";
}
