using System.Security.Cryptography;

namespace KimiSharp.Server.Generation;

/// <summary>Random ids for responses and tool calls (chatcmpl-…, msg_…, call_…, toolu_…).</summary>
public static class RandomIds
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public static string Alphanumeric(int length) => RandomNumberGenerator.GetString(Alphabet, length);
}
