namespace KimiSharp.Chat;

/// <summary>Sandbox settings for <see cref="JinjaTemplate"/>.</summary>
public sealed record JinjaOptions
{
    /// <summary>Hugging Face renders templates in Jinja2's ImmutableSandboxedEnvironment, where methods that
    /// mutate lists/dicts (append, pop, update …) raise a SecurityError. Set true to allow them as
    /// llama.cpp's engine does (some GGUF templates rely on <c>list.append</c>).</summary>
    public bool AllowMutation { get; init; }

    /// <summary>Total loop iterations allowed in one render.</summary>
    public long MaxLoopIterations { get; init; } = 1_000_000;

    /// <summary>Maximum nesting of macro calls.</summary>
    public int MaxCallDepth { get; init; } = 64;

    /// <summary>Maximum length of the rendered text (and of any string a template builds), in chars.</summary>
    public int MaxOutputLength { get; init; } = 32 * 1024 * 1024;

    /// <summary>Clock used by <c>strftime_now</c>; local time when null.</summary>
    public Func<DateTime>? Now { get; init; }

    /// <summary>Hugging Face's settings (immutable sandbox).</summary>
    public static JinjaOptions HuggingFace { get; } = new();

    /// <summary>llama.cpp-compatible: list/dict mutation allowed.</summary>
    public static JinjaOptions Permissive { get; } = new() { AllowMutation = true };
}
