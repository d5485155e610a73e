using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;

namespace KimiSharp.Server.OpenAi;

/// <summary>Small conversions from run events to OpenAI's vocabulary.</summary>
public static class OpenAiMapping
{
    public const string Fingerprint = "kimisharp";

    public static string FinishReason(RunFinishReason reason) => reason switch
    {
        RunFinishReason.Length => "length",
        RunFinishReason.ToolCalls => "tool_calls",
        _ => "stop",
    };

    /// <param name="reasoningTokens">Tokens generated up to the end of a thinking model's reasoning (0: none).</param>
    public static Usage Usage(RunFinished done, int reasoningTokens = 0) =>
        new(done.PromptTokens, done.CompletionTokens, done.PromptTokens + done.CompletionTokens, new PromptTokensDetails(done.Timings.CachedTokens),
            reasoningTokens > 0 ? new CompletionTokensDetails(reasoningTokens) : null);

    public static Timings Timings(RunFinished done)
    {
        var t = done.Timings;
        return new Timings(
            done.PromptTokens, t.PromptMilliseconds, PerSecond(done.PromptTokens, t.PromptMilliseconds),
            done.CompletionTokens, t.GenerationMilliseconds, PerSecond(done.CompletionTokens, t.GenerationMilliseconds),
            t.CachedTokens);
    }

    public static LogprobContent Logprob(TokenLogprob token) => new(
        token.Token,
        token.Logprob,
        Bytes(token.Bytes),
        token.Top.Select(t => new TopLogprobContent(t.Token, t.Logprob, Bytes(t.Bytes))).ToList());

    private static int[] Bytes(byte[] bytes) => Array.ConvertAll(bytes, b => (int)b);

    private static double PerSecond(int tokens, double milliseconds) => milliseconds > 0 ? Math.Round(tokens * 1000.0 / milliseconds, 3) : 0;
}
