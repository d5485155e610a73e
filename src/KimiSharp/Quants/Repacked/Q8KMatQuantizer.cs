namespace KimiSharp.Quants.Repacked;

/// <summary>
/// Q8_K as ggml-cpu's 4-row quantizer ggml_quantize_mat_q8_K_4x8 (ggml_quantize_mat_t&lt;8, Q8_K&gt;, which
/// forward_mul_mat uses for the activation rows that go to the repacked gemm), written one row at a time in plain
/// Q8_K layout (d:f32, qs[256]:i8, bsums[16]:i16). It equals <see cref="ActivationQuantizer.Q8_K(ReadOnlySpan{float}, Span{byte})"/>
/// except for the sign of the scale when a block holds both +amax and −amax: quantize_row_q8_K takes the sign of
/// the FIRST value of largest |x|, this one takes −127/amax whenever +amax occurs anywhere in the block. Such a
/// block comes out negated (qs, bsums and d), which leaves every dot product bit-identical; the bytes differ.
/// </summary>
public static unsafe class Q8KMatQuantizer
{
    private const int BlockBytes = 292;

    /// <summary>Quantizes x (a multiple of 256) into dst (n/256 plain Q8_K blocks).</summary>
    public static void QuantizeRow(ReadOnlySpan<float> x, Span<byte> dst)
    {
        if (x.Length % 256 != 0 || dst.Length < x.Length / 256 * BlockBytes)
            throw new ArgumentException("x must be whole 256-value blocks and dst hold n/256 Q8_K blocks");
        fixed (float* px = x)
        fixed (byte* py = dst)
            for (int b = 0; b < x.Length / 256; b++)
                QuantizeBlock(px + 256 * b, py + BlockBytes * b);
    }

    private static void QuantizeBlock(float* x, byte* y)
    {
        float amax = 0;
        for (int j = 0; j < 256; j++)
            amax = MathF.Max(amax, MathF.Abs(x[j]));
        bool positiveMax = false;
        for (int j = 0; j < 256; j++)
            positiveMax |= x[j] == amax;
        // ggml: iscale = ±127/amax (0 when amax is 0); d = amax ? 1/iscale : 0; q = round-half-even(x·iscale)
        float iscale = amax != 0 ? (positiveMax ? -127f : 127f) / amax : 0f;
        *(float*)y = amax != 0 ? 1f / iscale : 0f;
        sbyte* qs = (sbyte*)(y + 4);
        short* bsums = (short*)(y + 260);
        for (int g = 0; g < 16; g++)
        {
            int sum = 0;
            for (int j = 16 * g; j < 16 * g + 16; j++)
            {
                int q = (int)MathF.Round(x[j] * iscale, MidpointRounding.ToEven);
                qs[j] = (sbyte)q;
                sum += q;
            }
            bsums[g] = (short)sum;
        }
    }
}
