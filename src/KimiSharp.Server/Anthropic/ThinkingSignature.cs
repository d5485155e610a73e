using System.Text;

namespace KimiSharp.Server.Anthropic;

/// <summary>
/// The <c>signature</c> of the thinking blocks this server writes. Anthropic's signatures are opaque tokens that
/// clients must send back unchanged with the block; ours carry the reasoning text itself (UTF-8, base64), so the
/// reasoning comes back exactly as generated even when the client only kept the signature (<c>display: omitted</c>
/// sends empty thinking text), and a thinking model's template can render it in the history byte for byte —
/// which keeps the prompt-prefix cache valid across an agent's tool loop.
/// </summary>
public static class ThinkingSignature
{
    private const string Prefix = "kimisharp.reasoning.v1.";

    public static string Encode(string reasoning) => Prefix + Convert.ToBase64String(Encoding.UTF8.GetBytes(reasoning));

    /// <summary>The reasoning a signature of ours carries; false for signatures from elsewhere (Anthropic's own).</summary>
    public static bool TryDecode(string? signature, out string reasoning)
    {
        reasoning = "";
        if (signature is null || !signature.StartsWith(Prefix, StringComparison.Ordinal))
            return false;
        var bytes = new byte[(signature.Length - Prefix.Length) / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(signature.AsSpan(Prefix.Length), bytes, out int written))
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
