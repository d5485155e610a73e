using System.Text.RegularExpressions;

namespace KimiSharp.Server.Anthropic;

/// <summary>
/// Claude Code's first system block reads <c>x-anthropic-billing-header: cc_version=…; cc_entrypoint=…; cch=XXXXX;</c>
/// and the <c>cch</c> hash changes on every request, which would break prompt-prefix reuse about 40 tokens
/// in. A local server may neutralise it: the hash is replaced by a constant before templating (as llama.cpp
/// does since #21793), so the prompt stays byte-stable between requests.
/// </summary>
public static partial class ClaudeCodeBillingHeader
{
    public const string Prefix = "x-anthropic-billing-header:";
    public const string NeutralHash = "fffff";

    public static string Neutralise(string firstSystemBlock) =>
        firstSystemBlock.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
            ? CchPattern().Replace(firstSystemBlock, "cch=" + NeutralHash)
            : firstSystemBlock;

    [GeneratedRegex(@"cch=[0-9A-Za-z]+", RegexOptions.CultureInvariant)]
    private static partial Regex CchPattern();
}
