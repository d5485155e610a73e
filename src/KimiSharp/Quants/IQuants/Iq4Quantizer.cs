namespace KimiSharp.Quants.IQuants;

/// <summary>
/// The IQ4_NL / IQ4_XS reference quantizer (no importance matrix), written to give the same bits as ggml's
/// quantize_row_iq4_nl_ref / quantize_row_iq4_xs_ref: per group of 32 a scale from the largest-magnitude value
/// (optionally refined by trying 2·tries+1 nearby scales, keeping the best weighted least-squares fit with
/// weights x²), levels chosen as the nearest of the 16 non-linear values; IQ4_XS then quantizes the 8 group
/// scales to 6 bits against a super-block scale −max/32.
/// </summary>
internal static class Iq4Quantizer
{
    private const float GroupMaxEps = 1e-15f;

    /// <summary>ggml's nearest_int: round half to even through the 1.5·2²³ trick (valid for |x| &lt; 2²²).</summary>
    private static int NearestInt(float x)
    {
        float v = x + 12582912f;
        return (BitConverter.SingleToInt32Bits(v) & 0x007FFFFF) - 0x00400000;
    }

    /// <summary>Index of the level nearest to x (ties go up), by bisection over the sorted levels.</summary>
    private static int BestIndex(ReadOnlySpan<sbyte> values, float x)
    {
        if (x <= values[0]) return 0;
        if (x >= values[15]) return 15;
        int lo = 0, hi = 15;
        while (hi - lo > 1)
        {
            int mid = (lo + hi) / 2;
            if (x < values[mid]) hi = mid; else lo = mid;
        }
        return x - values[hi - 1] < values[hi] - x ? hi - 1 : hi;
    }

    /// <summary>Best scale for one group of 32; writes its levels into <paramref name="levels"/> (unless the group is ~zero).</summary>
    private static float GroupScale(ReadOnlySpan<float> x, Span<byte> levels, int tries)
    {
        var values = IQuantGrids.Iq4NlValues;
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
        {
            float ax = MathF.Abs(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax < GroupMaxEps)
            return 0;
        float d = tries > 0 ? -max / values[0] : max / values[0];
        float id = 1 / d;
        float sumqx = 0, sumq2 = 0;
        for (int j = 0; j < 32; j++)
        {
            int l = BestIndex(values, id * x[j]);
            levels[j] = (byte)l;
            float q = values[l], w = x[j] * x[j];
            sumqx += w * q * x[j];
            sumq2 += w * q * q;
        }
        d = sumq2 > 0 ? sumqx / sumq2 : 0f;
        float best = d * sumqx;
        for (int itry = -tries; itry <= tries; itry++)
        {
            id = (itry + values[0]) / max;
            sumqx = sumq2 = 0;
            for (int j = 0; j < 32; j++)
            {
                float q = values[BestIndex(values, id * x[j])], w = x[j] * x[j];
                sumqx += w * q * x[j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2)
            {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        return d;
    }

    private static void PackNibbles(ReadOnlySpan<byte> levels, Span<byte> qs)
    {
        for (int j = 0; j < 16; j++)
            qs[j] = (byte)(levels[j] | (levels[16 + j] << 4));
    }

    /// <summary>IQ4_NL: 32 values → 18 bytes (d:f16, 16 bytes of nibbles). <paramref name="levels"/> carries over between blocks as in ggml.</summary>
    public static void QuantizeNl(ReadOnlySpan<float> x, Span<byte> block, Span<byte> levels)
    {
        float d = GroupScale(x, levels, tries: -1);
        BitConverter.TryWriteBytes(block, Fp16.FromFloat(d));
        PackNibbles(levels, block[2..18]);
    }

    /// <summary>IQ4_XS: 256 values → 136 bytes (d:f16, scales_h:u16, scales_l[4], qs[128]).</summary>
    public static void QuantizeXs(ReadOnlySpan<float> x, Span<byte> block, Span<byte> levels)
    {
        var values = IQuantGrids.Iq4NlValues;
        Span<float> scales = stackalloc float[8];
        float maxScale = 0, amaxScale = 0;
        for (int ib = 0; ib < 8; ib++)
        {
            scales[ib] = GroupScale(x.Slice(32 * ib, 32), levels.Slice(32 * ib, 32), tries: 7);
            float ad = MathF.Abs(scales[ib]);
            if (ad > amaxScale) { amaxScale = ad; maxScale = scales[ib]; }
        }
        float d = -maxScale / 32;
        BitConverter.TryWriteBytes(block, Fp16.FromFloat(d));
        float id = d != 0 ? 1 / d : 0f;
        ushort scalesH = 0;
        Span<byte> scalesL = block.Slice(4, 4);
        scalesL.Clear();
        for (int ib = 0; ib < 8; ib++)
        {
            int l = Math.Clamp(NearestInt(id * scales[ib]), -32, 31);
            float dl = d * l;
            float idl = dl != 0 ? 1 / dl : 0f;
            for (int j = 0; j < 32; j++)
                levels[32 * ib + j] = (byte)BestIndex(values, idl * x[32 * ib + j]);
            l += 32;
            scalesL[ib / 2] |= (byte)((l & 15) << (4 * (ib % 2)));
            scalesH |= (ushort)((l >> 4) << (2 * ib));
        }
        BitConverter.TryWriteBytes(block[2..], scalesH);
        for (int ib = 0; ib < 8; ib++)
            PackNibbles(levels.Slice(32 * ib, 32), block.Slice(8 + 16 * ib, 16));
    }
}
