namespace KimiSharp.Compute;

/// <summary>
/// How llama.cpp's graph computes a product, which decides the kernel ggml-cpu runs and so the order of its float
/// sums; <see cref="MatMul"/> follows the same order so results stay bit-identical.
/// </summary>
[Flags]
public enum MatMulPath
{
    /// <summary>A plain mat-mul with a 2-D weight (tinyBLAS or repacked kernels where llama.cpp uses them).</summary>
    Default = 0,

    /// <summary>The activations are a permuted view in llama.cpp (q_nope for attn_k_b).</summary>
    PermutedActivations = 1,

    /// <summary>One head's slice of a 3-D weight (attn_k_b, attn_v_b): llama.cpp never repacks those.</summary>
    PerHeadWeight = 2,

    /// <summary>A MoE expert's rows (MUL_MAT_ID): vec_dot, or the repacked gemv, for every token.</summary>
    ExpertRows = 4,

    /// <summary>Every token summed as if it ran alone, so prefill equals decode bit for bit.</summary>
    BatchInvariant = 8,

    /// <summary>Follow llama.cpp run without weight repacking (<c>--no-repack</c>).</summary>
    NoRepack = 16,

    /// <summary>
    /// Not llama.cpp's order: the fastest kernels this machine has (tile kernels for batches, the plain vec_dot for one
    /// token), exact in their integer sums and differing from the exact order only in float rounding. The order flags above
    /// are then ignored, except <see cref="BatchInvariant"/>.
    /// </summary>
    Fast = 32,
}
