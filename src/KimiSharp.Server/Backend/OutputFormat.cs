namespace KimiSharp.Server.Backend;

/// <summary>What the generated text must be, enforced by constrained decoding (API-neutral).</summary>
/// <param name="Kind">A JSON object, JSON valid against a schema, or a GBNF grammar.</param>
/// <param name="Source">The schema (JSON text) or the grammar; null for <see cref="OutputFormatKind.JsonObject"/>.</param>
/// <param name="Strict">An unsupported schema keyword is a 400 (response_format with strict: true) instead of being ignored.</param>
/// <param name="Param">The request field it came from, for error messages (e.g. "response_format.json_schema.schema").</param>
public sealed record OutputFormat(OutputFormatKind Kind, string? Source, bool Strict, string Param)
{
    public static OutputFormat JsonObject(string param) => new(OutputFormatKind.JsonObject, null, false, param);

    public static OutputFormat JsonSchema(string schemaJson, bool strict, string param) => new(OutputFormatKind.JsonSchema, schemaJson, strict, param);

    public static OutputFormat Gbnf(string grammar, string param) => new(OutputFormatKind.Gbnf, grammar, false, param);
}

public enum OutputFormatKind
{
    JsonObject,
    JsonSchema,
    Gbnf,
}
