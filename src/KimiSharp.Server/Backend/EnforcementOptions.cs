namespace KimiSharp.Server.Backend;

/// <summary>Constrained decoding settings of a backend (the Enforcer).</summary>
/// <param name="Enabled">Constrain replies (tool-call format and arguments, response formats); false = <c>--no-enforce</c>.</param>
/// <param name="ReasoningEnd">Text that closes a thinking model's reasoning block; constraints start after it. Null = not a thinking model.</param>
/// <param name="Log">Hears about schema keywords that are loosened (ignored) in tool schemas.</param>
public sealed record EnforcementOptions(bool Enabled = true, string? ReasoningEnd = null, Action<string>? Log = null)
{
    /// <summary>"&lt;/think&gt;" when a chat template writes reasoning blocks (Kimi-K2-Thinking), else null.</summary>
    public static string? ReasoningEndOf(string? chatTemplate) => KimiSharp.Grammar.ChatConstraints.ReasoningEndOf(chatTemplate);
}
