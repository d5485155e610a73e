namespace KimiSharp.Grammar.Json;

/// <summary>How <see cref="JsonSchemaCompiler"/> treats a schema.</summary>
public sealed record JsonSchemaOptions
{
    /// <summary>
    /// True (response_format with strict): an unsupported keyword fails with <see cref="UnsupportedSchemaException"/>
    /// naming it. False (tool schemas): the keyword is ignored, which loosens that sub-schema, and
    /// <see cref="Loosened"/> hears about it.
    /// </summary>
    public bool Strict { get; init; }

    /// <summary>Told about every keyword ignored in lenient mode ("path: keyword 'x' is not supported; ignored").</summary>
    public Action<string>? Loosened { get; init; }

    /// <summary>Digits of an integer part where no bound limits it (a random model must stop somewhere).</summary>
    public int MaxIntegerDigits { get; init; } = 15;

    /// <summary>Fraction digits of a number where no bound needs more.</summary>
    public int MaxFractionDigits { get; init; } = 10;

    /// <summary>Nesting depth of free-form JSON values (an empty or absent schema).</summary>
    public int MaxAnyValueDepth { get; init; } = 6;

    /// <summary>
    /// Whether objects that declare <c>properties</c> (even none: <c>{}</c>) but say nothing about
    /// <c>additionalProperties</c> may carry other keys. Off: only the declared ones (the output stays compact and
    /// on-schema; it is still valid). An object schema without <c>properties</c> takes any keys.
    /// </summary>
    public bool AdditionalPropertiesByDefault { get; init; }
}

/// <summary>A strict schema uses a keyword the Enforcer cannot enforce.</summary>
public sealed class UnsupportedSchemaException(string keyword, string path)
    : Exception($"JSON schema keyword '{keyword}' at {path} is not supported by constrained decoding")
{
    public string Keyword { get; } = keyword;
    public string Path { get; } = path;
}
