namespace KimiSharp.Models.DeepSeek2;

/// <summary>
/// A GGUF file that cannot run as a deepseek2 model: a missing key or tensor, a wrong shape, an unsupported
/// type. The message names the key or tensor and what was expected.
/// </summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException(string message, string? name = null) : base(message) => Name = name;

    public ModelLoadException(string message, string? name, Exception inner) : base(message, inner) => Name = name;

    /// <summary>The metadata key or tensor name the problem is about, when there is one.</summary>
    public string? Name { get; }
}
