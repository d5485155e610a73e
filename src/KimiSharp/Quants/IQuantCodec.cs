namespace KimiSharp.Quants;

/// <summary>
/// Everything the engine does with one ggml block format: decode it to floats, (optionally) encode floats
/// into it, and take the dot product of a weight row with an activation row in <see cref="VecDotType"/>.
/// Implementations validate nothing: <see cref="QuantCodecs"/> checks lengths before calling them.
/// </summary>
public unsafe interface IQuantCodec
{
    GgmlType Type { get; }

    /// <summary>The format activations are quantized to for <see cref="VecDot"/> (as ggml's vec_dot_type).</summary>
    GgmlType VecDotType { get; }

    /// <summary>Decodes whole blocks: dst.Length elements from the matching number of blocks in src.</summary>
    void Dequantize(ReadOnlySpan<byte> src, Span<float> dst);

    bool CanQuantize { get; }

    /// <summary>Encodes src.Length elements (a multiple of the block size) into dst.</summary>
    void Quantize(ReadOnlySpan<float> src, Span<byte> dst);

    /// <summary>Σ w[i]·a[i] over n elements: w in this type, a in <see cref="VecDotType"/>.</summary>
    float VecDot(byte* weightRow, byte* activationRow, int n);

    /// <summary>
    /// Mat-vec: dst[r] = <see cref="VecDot"/>(weights + r·rowBytes, activationRow, n) for r &lt; rows, bit for bit.
    /// Types whose vec_dot is bound by one accumulator's latency override this with kernels that run several rows at once.
    /// </summary>
    void VecDotRows(byte* weights, long rowBytes, byte* activationRow, int n, float* dst, int rows)
    {
        for (int r = 0; r < rows; r++)
            dst[r] = VecDot(weights + r * rowBytes, activationRow, n);
    }

    /// <summary>
    /// Mat-vec for two activation rows (two tokens): dst0 from <paramref name="activationRow0"/>, dst1 from
    /// <paramref name="activationRow1"/>, each bit for bit <see cref="VecDotRows"/>. Types whose weight decode dominates
    /// (the i-quants' grid lookups) override it to decode each weight block once for both.
    /// </summary>
    void VecDotRowsTwoTokens(byte* weights, long rowBytes, byte* activationRow0, byte* activationRow1, int n, float* dst0, float* dst1, int rows)
    {
        VecDotRows(weights, rowBytes, activationRow0, n, dst0, rows);
        VecDotRows(weights, rowBytes, activationRow1, n, dst1, rows);
    }
}
