namespace KimiSharp.Server.Hosting;

/// <summary>Settings of one server instance (the flags of <c>kimi serve</c>).</summary>
public sealed record ServerOptions
{
    /// <summary>Address to bind; loopback unless told otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (tests).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>When set, every route except /health needs it as <c>Authorization: Bearer</c> or <c>x-api-key</c>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Largest accepted request body; larger ones get 413.</summary>
    public long MaxBodyBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Most generation requests admitted at once (running plus waiting); more get 429.</summary>
    public int MaxQueuedRequests { get; init; } = 64;

    /// <summary>Anthropic requests sample at <c>temperature × factor</c> (Moonshot maps 1.0 → 0.6).</summary>
    public float AnthropicTemperatureFactor { get; init; } = 0.6f;

    /// <summary>OpenAI requests without a temperature sample at this one (Moonshot recommends 0.6).</summary>
    public float DefaultTemperature { get; init; } = 0.6f;

    /// <summary>Anthropic requests without a temperature: this, before the factor.</summary>
    public float AnthropicDefaultTemperature { get; init; } = 1.0f;

    /// <summary>min_p applied to every request (Unsloth's Kimi advice is 0.01).</summary>
    public float DefaultMinP { get; init; } = 0.01f;

    /// <summary>A stream that has sent nothing for this long sends a heartbeat (Anthropic: <c>ping</c>); zero turns them off.</summary>
    public TimeSpan StreamHeartbeat { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Serve the chat page at / (<c>kimi serve --no-webui</c> turns it off).</summary>
    public bool WebUi { get; init; } = true;

    /// <summary>Write request logs to the console.</summary>
    public bool Verbose { get; init; }
}
