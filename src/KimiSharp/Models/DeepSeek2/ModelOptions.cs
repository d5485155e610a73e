namespace KimiSharp.Models.DeepSeek2;

/// <summary>Element type of the latent KV cache rows.</summary>
public enum KvCacheType
{
    F32,
    F16,
    Q8_0,
}

/// <summary>How to run a loaded model.</summary>
/// <param name="Threads">Worker threads for the matrix products and attention.</param>
/// <param name="KvType">Element type of the latent KV cache (llama.cpp's <c>-ctk</c>); null (the default) is F16, as in
/// llama.cpp, or F32 with <paramref name="Exact"/> (llama.cpp's exact reference runs an F32 cache). See <see cref="CacheType"/>.</param>
/// <param name="MaxBatch">Tokens per micro-batch; longer inputs are split (llama.cpp's <c>-ub</c>).</param>
/// <param name="YarnBetaFast">Overrides the YaRN beta_fast (otherwise the file's value, else 32).</param>
/// <param name="YarnBetaSlow">Overrides the YaRN beta_slow (otherwise the file's value, else 1).</param>
/// <param name="BatchInvariant">Sum every token's products in the same order whether it runs alone or in a batch, so
/// prefill and decode give bit-identical logits. Off (the default), batches follow llama.cpp's batched (tinyBLAS)
/// order, so our logits equal llama.cpp's bit for bit wherever its kernels are reproduced.</param>
/// <param name="Exact">Reproduce llama.cpp's exact summation order (flash attention off, the kernels' ggml order), so
/// logits are bit-identical to llama.cpp's wherever its kernels are reproduced. Off (the default), the fastest paths
/// run, held to the accuracy bounds of llama.cpp's own defaults against its exact mode.</param>
/// <param name="MatchLlamaCppRepacking">Sum Q4_0/IQ4_NL/Q4_K/Q2_K products in the order of the kernels llama.cpp uses on the
/// weights it repacks by default; false follows llama.cpp run with <c>--no-repack</c> (plain vec_dot/tinyBLAS).</param>
public sealed record ModelOptions(
    int Threads,
    KvCacheType? KvType = null,
    int MaxBatch = 256,
    float? YarnBetaFast = null,
    float? YarnBetaSlow = null,
    bool BatchInvariant = false,
    bool MatchLlamaCppRepacking = true,
    bool Exact = false)
{
    /// <summary>The KV cache type in effect: <see cref="KvType"/> if given, else F32 in exact mode and F16 otherwise.</summary>
    public KvCacheType CacheType => KvType ?? (Exact ? KvCacheType.F32 : KvCacheType.F16);
}
