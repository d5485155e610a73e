using KimiSharp.Engine;

namespace KimiSharp;

/// <summary>How a <see cref="KimiChatClient"/> loads its model and what it does when a request leaves a setting out.</summary>
public sealed record KimiChatClientOptions
{
    /// <summary>The model name in responses and <see cref="Microsoft.Extensions.AI.ChatClientMetadata"/>; null = the file name.</summary>
    public string? ModelId { get; init; }

    /// <summary>Worker threads of the forward pass.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Context length, parallel sequences, queue and cache settings of the engine the client owns.</summary>
    public EngineOptions Engine { get; init; } = new();

    /// <summary>llama.cpp's exact summation order (slower; for comparisons).</summary>
    public bool Exact { get; init; }

    /// <summary>Element type of the latent KV cache; null = the model's default (F16, F32 with <see cref="Exact"/>).</summary>
    public KimiSharp.Models.DeepSeek2.KvCacheType? KvType { get; init; }

    /// <summary>Temperature when <see cref="Microsoft.Extensions.AI.ChatOptions.Temperature"/> is not set (Moonshot recommends 0.6).</summary>
    public float DefaultTemperature { get; init; } = 0.6f;

    /// <summary>min_p for every request (Unsloth's Kimi advice is 0.01).</summary>
    public float MinP { get; init; } = 0.01f;

    /// <summary>Hears what loading prints (the demo model's notice); null = silent.</summary>
    public TextWriter? Log { get; init; }
}
