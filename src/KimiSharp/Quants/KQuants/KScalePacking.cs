using System.Runtime.Intrinsics;
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

    /// <summary>The 8 scales (shorts 0..7) and 8 mins (shorts 8..15) with 32-bit mask arithmetic (no per-pair branches).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static System.Runtime.Intrinsics.Vector256<short> UnpackScaleMin6Vector(byte* packed) =>
        System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int16(UnpackScaleMin6Bytes(packed));

    /// <summary>The 8 scales (bytes 0..7) and 8 mins (bytes 8..15) of a K_SCALE_SIZE block, as bytes.</summary>
    public static System.Runtime.Intrinsics.Vector128<byte> UnpackScaleMin6Bytes(byte* packed)
    {
        const uint low6 = 0x3F3F3F3F, low4 = 0x0F0F0F0F, low2 = 0x03030303;
        uint u0 = *(uint*)packed, u1 = *(uint*)(packed + 4), u2 = *(uint*)(packed + 8);
        uint scales0 = u0 & low6;                                          // scales 0..3: low 6 bits of bytes 0..3
        uint scales1 = (u2 & low4) | (((u0 >> 6) & low2) << 4);           // scales 4..7: nibble of bytes 8..11 + top bits of 0..3
        uint mins0 = u1 & low6;                                            // mins 0..3: low 6 bits of bytes 4..7
        uint mins1 = ((u2 >> 4) & low4) | (((u1 >> 6) & low2) << 4);      // mins 4..7: high nibble of 8..11 + top bits of 4..7
        return System.Runtime.Intrinsics.Vector128.Create(scales0, scales1, mins0, mins1).AsByte();
    }
}
