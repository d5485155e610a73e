namespace KimiSharp.Server.Hosting;

/// <summary>Which API's error JSON a route answers with.</summary>
public enum ApiFlavor
{
    OpenAi,
    Anthropic,
    Ollama,
}

public static class ApiFlavors
{
    /// <summary>/v1/messages… speaks Anthropic, /api/… Ollama; everything else OpenAI (as llama-server does).</summary>
    public static ApiFlavor ForPath(PathString path) =>
        path.StartsWithSegments("/v1/messages", StringComparison.OrdinalIgnoreCase) ? ApiFlavor.Anthropic
        : path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) ? ApiFlavor.Ollama
        : ApiFlavor.OpenAi;
}
