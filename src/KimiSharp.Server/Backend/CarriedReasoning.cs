using System.Text;

namespace KimiSharp.Server.Backend;

/// <summary>
/// A thinking model's reasoning as the opaque token clients hand back unchanged: the <c>signature</c> of Anthropic
/// thinking blocks and the <c>encrypted_content</c> of Responses reasoning items. Anthropic's and OpenAI's are
/// encrypted; ours carry the reasoning text itself (UTF-8, base64), so the reasoning comes back exactly as generated
/// even when the client kept only the token (Claude Code's <c>display: omitted</c> sends empty thinking text, Codex
/// never sends reasoning text back), and a thinking model's template can render it in the history byte for byte —
/// which keeps the prompt-prefix cache valid across an agent's tool loop.
/// </summary>
public static class CarriedReasoning
{
    private const string Prefix = "kimisharp.reasoning.v1.";

    public static string Encode(string reasoning) => Prefix + Convert.ToBase64String(Encoding.UTF8.GetBytes(reasoning));

    /// <summary>The reasoning a token of ours carries; false for tokens from elsewhere (Anthropic's or OpenAI's own).</summary>
    public static bool TryDecode(string? token, out string reasoning)
    {
        reasoning = "";
        if (token is null || !token.StartsWith(Prefix, StringComparison.Ordinal))
            return false;
        var bytes = new byte[(token.Length - Prefix.Length) / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(token.AsSpan(Prefix.Length), bytes, out int written))
            return false;
        try
        {
            reasoning = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, 0, written);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
