namespace KimiSharp.Quants.Repacked;

/// <summary>
/// The Q8_K bytes of ggml's 4-row activation quantizer (ggml_quantize_mat_q8_K_4x8, used before every repacked
/// *_8x8_q8_K gemm), per row in the plain Q8_K layout. It equals quantize_row_q8_K (<see cref="ActivationQuantizer.Q8_K(ReadOnlySpan{float}, Span{byte})"/>)
/// except for one tie: when a block's largest |x| occurs both as −m (first, in memory order) and as +m, quantize_row
/// takes max = −m (d &gt; 0) while the 4x8 quantizer takes max = +m (d &lt; 0), so d, every q and every bsum are negated.
/// Dot products come out bit-identical either way (q·d pairs negate together and float rounding is sign-symmetric),
/// so only byte-level comparisons need this.
/// </summary>
public static class Q2KRepackedActivations
{
    /// <summary>Quantizes x (a multiple of 256 floats) to plain Q8_K exactly as ggml_quantize_mat_q8_K_4x8 does per row.</summary>
    public static void QuantizeRowAs4x8(ReadOnlySpan<float> x, Span<byte> dst)
    {
        ActivationQuantizer.Q8_K(x, dst);
        for (int b = 0; b < x.Length / 256; b++)
        {
            var block = x.Slice(256 * b, 256);
            var q = dst.Slice(292 * b, 292);
            float d = BitConverter.ToSingle(q);
            if (!(d > 0)) continue; // quantize_row chose a positive max, or the block is zero/NaN: same as 4x8
            float amax = 0;
            foreach (float v in block) amax = MathF.Max(amax, MathF.Abs(v));
            if (block.IndexOf(amax) < 0) continue; // no +amax: both chose −amax
            BitConverter.TryWriteBytes(q, -d);
            for (int i = 4; i < 260; i++) q[i] = (byte)(sbyte)-(sbyte)q[i];
            for (int g = 0; g < 16; g++)
                BitConverter.TryWriteBytes(q[(260 + 2 * g)..], (short)-BitConverter.ToInt16(q[(260 + 2 * g)..]));
        }
    }
}
