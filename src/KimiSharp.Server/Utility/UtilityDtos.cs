using System.Text.Json;

namespace KimiSharp.Server.Utility;

/// <summary>llama-server's /tokenize body: text, whether to add BOS, whether to parse special-token text.</summary>
public sealed record TokenizeRequest
{
    public string? Content { get; init; }
    public bool? AddSpecial { get; init; }
    public bool? ParseSpecial { get; init; }
    public bool? WithPieces { get; init; }
}

public sealed record TokenizeResponse(IReadOnlyList<int> Tokens);

public sealed record TokenPiece(int Id, string Piece);

public sealed record TokenizeWithPiecesResponse(IReadOnlyList<TokenPiece> Tokens);

public sealed record DetokenizeRequest
{
    public List<JsonElement>? Tokens { get; init; }
}

public sealed record DetokenizeResponse(string Content);

public sealed record HealthResponse(string Status, string? Error = null);
