using System.Security.Cryptography;
using System.Text;

namespace KimiSharp.Server.Hosting;

/// <summary>
/// Checks the client's key (<c>Authorization: Bearer KEY</c> as OpenAI clients and Claude Code's
/// ANTHROPIC_AUTH_TOKEN send it, or <c>x-api-key</c> as Anthropic clients send it) in constant time:
/// both sides are hashed with SHA-256 and compared with <see cref="CryptographicOperations.FixedTimeEquals"/>,
/// so neither the content nor the length of the configured key leaks through timing.
/// </summary>
public sealed class ApiKeyCheck(string? apiKey)
{
    private readonly byte[]? _expectedHash = string.IsNullOrEmpty(apiKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));

    public bool Enabled => _expectedHash is not null;

    /// <summary>Null when the request may pass, else the reason it may not.</summary>
    public string? Check(HttpRequest request)
    {
        if (_expectedHash is null)
            return null;
        var presented = PresentedKey(request);
        if (presented is null)
            return "no API key: send it as 'Authorization: Bearer KEY' or 'x-api-key: KEY'";
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(hash, _expectedHash) ? null : "invalid API key";
    }

    private static string? PresentedKey(HttpRequest request)
    {
        string? authorization = request.Headers.Authorization;
        if (!string.IsNullOrEmpty(authorization))
        {
            const string bearer = "Bearer ";
            return authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) ? authorization[bearer.Length..].Trim() : authorization.Trim();
        }

        string? header = request.Headers["x-api-key"];
        return string.IsNullOrEmpty(header) ? null : header.Trim();
    }
}
