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
}
