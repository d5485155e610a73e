namespace KimiSharp.Engine;

/// <summary>The KV memory budget cannot hold one full context (raised at startup, with what would fit).</summary>
public sealed class KvMemoryException : Exception
{
    public KvMemoryException(int contextLength, long bytesPerToken, long budgetBytes)
        : base(Describe(contextLength, bytesPerToken, budgetBytes))
    {
        ContextLength = contextLength;
        BytesPerToken = bytesPerToken;
        BudgetBytes = budgetBytes;
    }

    public int ContextLength { get; }
    public long BytesPerToken { get; }
    public long BudgetBytes { get; }

    /// <summary>The longest context the budget holds.</summary>
    public long FittingContext => KvMemory.MaxContext(BudgetBytes, BytesPerToken);

    private static string Describe(int context, long bytesPerToken, long budget)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        return string.Create(c, $"a context of {context:N0} tokens needs {KvMemory.Format(context * bytesPerToken)} of KV cache ({bytesPerToken:N0} bytes per token) ") +
            string.Create(c, $"but only {KvMemory.Format(budget)} is available for it: a context up to {KvMemory.MaxContext(budget, bytesPerToken):N0} tokens fits ") +
            "(lower --ctx, or use a smaller --kv-type such as q8_0)";
    }
}
