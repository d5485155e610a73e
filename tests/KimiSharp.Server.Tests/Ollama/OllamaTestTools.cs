using OllamaSharp.Models.Chat;

namespace KimiSharp.Server.Tests.Ollama;

/// <summary>Tools the Ollama tests declare, in OllamaSharp's types.</summary>
internal static class OllamaTestTools
{
    /// <summary>get_weather(city: string), city required.</summary>
    public static Tool Weather { get; } = new()
    {
        Function = new Function
        {
            Name = "get_weather",
            Description = "Current weather for a city",
            Parameters = new Parameters { Properties = new() { ["city"] = new Property { Type = "string" } }, Required = ["city"] },
        },
    };
}
