namespace KimiSharp.Server.Hosting;

/// <summary>Which API's error JSON a route answers with.</summary>
public enum ApiFlavor
{
    OpenAi,
    Anthropic,
}

public static class ApiFlavors
{
    /// <summary>/v1/messages… speaks Anthropic; everything else OpenAI (as llama-server does).</summary>
    public static ApiFlavor ForPath(PathString path) =>
        path.StartsWithSegments("/v1/messages", StringComparison.OrdinalIgnoreCase) ? ApiFlavor.Anthropic : ApiFlavor.OpenAi;
}
