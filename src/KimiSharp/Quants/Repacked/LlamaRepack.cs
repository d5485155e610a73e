namespace KimiSharp.Quants.Repacked;

/// <summary>
/// Which weights llama.cpp's CPU backend repacks by default (its "extra buffer type": interleaved 8-row blocks with
/// their own gemv/gemm kernels) and the float order those kernels give each (row, token) output, reproduced on our
/// plain layouts. A weight is repacked when it is a 2-D mat-mul weight or a 3-D MoE expert tensor (never a per-head
/// 3-D weight such as attn_k_b/attn_v_b, never token_embd), its row count is a multiple of 8, and its type is:
/// Q4_0, IQ4_NL or Q4_K (AVX2 and AVX-512 builds), Q2_K (the AVX-512 build: <see cref="GgmlCpuVariant.Avx512Build"/>). Plain mat-mul: tokens in whole groups of 4 take gemm, the
/// rest gemv; MoE (MUL_MAT_ID): every (expert, token) takes gemv. Activations are quantized as for vec_dot.
/// </summary>
internal static unsafe class LlamaRepack
{
    /// <summary>Whether llama.cpp repacks a weight of this type and shape (see the class summary).</summary>
    public static bool Applies(GgmlType type, int rows, int cols) =>
        rows % 8 == 0 && cols % 8 == 0 && type switch
        {
            GgmlType.Q4_0 or GgmlType.IQ4_NL or GgmlType.Q4_K => Simd.Best >= SimdLevel.Avx2,
            GgmlType.Q2_K => GgmlCpuVariant.Avx512Build,
            _ => false,
        };

    /// <summary>One output in the order of ggml's repacked gemm (<paramref name="gemm"/>) or gemv kernel.</summary>
    public static float Dot(GgmlType type, byte* weightRow, byte* activationRow, int cols, bool gemm) => type switch
    {
        GgmlType.Q4_0 => Q40RepackedDot.Dot(weightRow, activationRow, cols),
        GgmlType.IQ4_NL => Iq4NlRepackedDot.Dot(weightRow, activationRow, cols),
        GgmlType.Q2_K => gemm ? Q2KRepackedOrder.Gemm(weightRow, activationRow, cols) : Q2KRepackedOrder.Gemv(weightRow, activationRow, cols),
        GgmlType.Q4_K => gemm ? Q4KRepackedOrder.Gemm(weightRow, activationRow, cols) : Q4KRepackedOrder.Gemv(weightRow, activationRow, cols),
        _ => throw new NotSupportedException($"llama.cpp does not repack {type}"),
    };

    /// <summary>Whether <see cref="Dot2"/> has a two-token kernel for <paramref name="type"/>.</summary>
    public static bool HasDot2(GgmlType type) => type is GgmlType.Q4_K or GgmlType.Q2_K;

    /// <summary>Two tokens against one weight row, same bits as two <see cref="Dot"/> calls (types with <see cref="HasDot2"/>).</summary>
    public static void Dot2(GgmlType type, byte* weightRow, byte* a0, byte* a1, int cols, bool gemm, out float y0, out float y1)
    {
        if (type == GgmlType.Q4_K)
            Q4KRepackedOrder.Dot2(weightRow, a0, a1, cols, gemm, out y0, out y1);
        else
            Q2KRepackedOrder.Dot2(weightRow, a0, a1, cols, gemm, out y0, out y1);
    }
}
