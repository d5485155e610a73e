using KimiSharp.Gguf;

namespace KimiSharp.Cli.Bench;

/// <summary>
/// Bytes of weights one decoded token reads, from the file's tensor sizes: every attention, dense-FFN, norm, router and
/// shared-expert tensor whole, <c>expert_used_count</c> of <c>expert_count</c> slices of each stacked routed-expert
/// tensor (<c>*_exps</c>), the output matrix whole and one row of the token embedding. The roofline of generation is
/// this divided by the machine's streaming read bandwidth.
/// </summary>
internal sealed record DecodeTraffic(long Attention, long Dense, long SharedExperts, long RoutedExperts, long Output, long Embedding,
    int ExpertsUsed = 0, int ExpertCount = 0)
{
    public long Total => Attention + Dense + SharedExperts + RoutedExperts + Output + Embedding;

    /// <summary>
    /// Weight bytes per token when <paramref name="sequences"/> tokens share one batched step: everything but the routed
    /// experts is read once per step, and of the routed experts the expected number of distinct ones that many tokens
    /// pick (uniformly at random: E·(1 − (1 − k/E)^N) of E), each once; divided by the tokens of the step.
    /// </summary>
    public long PerTokenInStepOf(int sequences)
    {
        if (sequences <= 1 || ExpertsUsed <= 0 || ExpertCount <= 0)
            return Total;
        double distinct = ExpertCount * (1 - Math.Pow(1 - (double)ExpertsUsed / ExpertCount, sequences));
        double routed = RoutedExperts / (double)ExpertsUsed * distinct;
        return (long)((Total - RoutedExperts + routed) / sequences);
    }

    public static DecodeTraffic Of(GgufFile file)
    {
        string arch = file.Metadata.GetString("general.architecture", "deepseek2");
        long used = file.Metadata.GetUInt32(arch + ".expert_used_count", 0);
        long count = file.Metadata.GetUInt32(arch + ".expert_count", 0);
        long attention = 0, dense = 0, shared = 0, routed = 0, output = 0, embedding = 0;
        foreach (var t in file.Tensors)
        {
            if (t.Name == "token_embd.weight")
                embedding += t.ByteSize / Math.Max(1, t.RowCount); // one row per token
            else if (t.Name == "output.weight")
                output += t.ByteSize;
            else if (t.Name.Contains("_exps.", StringComparison.Ordinal))
                routed += count > 0 ? t.ByteSize / count * used : t.ByteSize;
            else if (t.Name.Contains("_shexp.", StringComparison.Ordinal))
                shared += t.ByteSize;
            else if (t.Name.Contains(".attn_", StringComparison.Ordinal))
                attention += t.ByteSize;
            else
                dense += t.ByteSize; // dense FFN, norms, router, exp_probs_b, output_norm
        }
        // No output.weight: llama.cpp reuses token_embd (tied), read whole for the logits.
        if (!file.TryGetTensor("output.weight", out _) && file.TryGetTensor("token_embd.weight", out var tied))
            output = tied.ByteSize;
        return new DecodeTraffic(attention, dense, shared, routed, output, embedding, (int)used, (int)count);
    }

    /// <summary>"1.23 GB/token (attn 0.10, dense 0.20, shared 0.01, experts 0.50, output 0.42)".</summary>
    public string Describe() =>
        $"{Gb(Total)} GB of weights per token (attention {Gb(Attention)}, dense+norms+router {Gb(Dense)}, shared experts {Gb(SharedExperts)}, " +
        $"routed experts {Gb(RoutedExperts)}, output {Gb(Output)})";

    private static string Gb(long bytes) => (bytes / 1e9).ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
}
