namespace KimiSharp.Quants;

/// <summary>The 12-byte packing of eight 6-bit (scale, min) pairs used by Q4_K and Q5_K.</summary>
internal static unsafe class KScalePacking
{
    /// <summary>Quantizes 8 scales and 8 mins to 6 bits (×63/max, nearest_int, ≤ 63) and packs them as ggml does.</summary>
    public static void PackScaleMin6(byte* dst, float* scales, float* mins, float maxScale, float maxMin)
    {
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        for (int j = 0; j < 12; j++) dst[j] = 0;
        for (int j = 0; j < 8; j++)
        {
            byte ls = (byte)Math.Min(63, (int)(byte)KQuantMath.NearestInt(invScale * scales[j]));
            byte lm = (byte)Math.Min(63, (int)(byte)KQuantMath.NearestInt(invMin * mins[j]));
            if (j < 4)
            {
                dst[j] = ls;
                dst[j + 4] = lm;
            }
            else
            {
                dst[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                dst[j - 4] |= (byte)((ls >> 4) << 6);
                dst[j] |= (byte)((lm >> 4) << 6);
            }
        }
    }

    /// <summary>Unpacks the 8 scales into dst[0..7] and the 8 mins into dst[8..15].</summary>
    public static void UnpackScaleMin6(byte* packed, byte* dst)
    {
        for (int j = 0; j < 8; j++)
        {
            KQuantMath.GetScaleMinK4(j, packed, out int sc, out int m);
            dst[j] = (byte)sc;
            dst[8 + j] = (byte)m;
        }
    }
}
