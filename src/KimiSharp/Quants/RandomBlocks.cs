using System.Buffers.Binary;

namespace KimiSharp.Quants;

/// <summary>
/// Valid random blocks of any supported ggml type, for generated test models: random levels / grid indices /
/// signs with bounded scales, chosen so decoded values stay within about ±<c>scale</c> (most within a few
/// multiples of scale/4 of zero), finite, and not all zero. No quantizer is needed, so every type is covered.
/// </summary>
public static class RandomBlocks
{
    /// <summary>Fills <paramref name="dst"/> (a whole number of blocks of <paramref name="type"/>) with random valid blocks.</summary>
    public static void Fill(GgmlType type, Span<byte> dst, Random rng, float scale)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (!(scale > 0) || !float.IsFinite(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be positive and finite");
        var info = GgmlTypes.Get(type);
        if (dst.Length % info.TypeSize != 0)
            throw new ArgumentException($"{type}: {dst.Length} bytes is not a whole number of {info.TypeSize}-byte blocks", nameof(dst));
        for (int offset = 0; offset < dst.Length; offset += info.TypeSize)
            FillBlock(type, dst.Slice(offset, info.TypeSize), rng, scale);
    }

    /// <summary>A block scale near <paramref name="max"/>: uniform in [max/2, max].</summary>
    private static float Jitter(Random rng, float max) => max * (0.5f + 0.5f * rng.NextSingle());

    private static void Half(Span<byte> at, float value) => BinaryPrimitives.WriteUInt16LittleEndian(at, Fp16.FromFloat(value));

    private static void SignedBytes(Random rng, Span<byte> dst, int limit)
    {
        for (int i = 0; i < dst.Length; i++)
            dst[i] = (byte)(sbyte)rng.Next(-limit, limit + 1);
    }

    private static void FillBlock(GgmlType type, Span<byte> b, Random rng, float scale)
    {
        switch (type)
        {
            case GgmlType.F32:
                BinaryPrimitives.WriteSingleLittleEndian(b, scale * (2 * rng.NextSingle() - 1));
                return;
            case GgmlType.F16:
                Half(b, scale * (2 * rng.NextSingle() - 1));
                return;
            case GgmlType.BF16:
                BinaryPrimitives.WriteUInt16LittleEndian(b, Fp16.FloatToBF16(scale * (2 * rng.NextSingle() - 1)));
                return;
        }

        rng.NextBytes(b);
        switch (type)
        {
            case GgmlType.Q4_0: Half(b, Jitter(rng, scale / 8)); break;                        // d·(q−8), q ∈ [0,15]
            case GgmlType.Q4_1: Half(b, Jitter(rng, scale / 8)); Half(b[2..], -scale); break;   // d·q + m
            case GgmlType.Q5_0: Half(b, Jitter(rng, scale / 16)); break;                       // d·(q−16), q ∈ [0,31]
            case GgmlType.Q5_1: Half(b, Jitter(rng, scale / 16)); Half(b[2..], -scale); break;
            case GgmlType.Q8_0:
                Half(b, Jitter(rng, scale / 127));
                SignedBytes(rng, b.Slice(2, 32), 127);
                break;
            case GgmlType.Q8_1:
            {
                float d = Fp16.ToFloat(Fp16.FromFloat(Jitter(rng, scale / 127)));
                SignedBytes(rng, b.Slice(4, 32), 127);
                int sum = 0;
                for (int i = 0; i < 32; i++) sum += (sbyte)b[4 + i];
                Half(b, d);
                Half(b[2..], d * sum);
                break;
            }
            case GgmlType.Q2_K:                                                                 // d·sc·q − dmin·m, sc, m ≤ 15, q ≤ 3
                Half(b[80..], Jitter(rng, scale / 45));
                Half(b[82..], Jitter(rng, scale / 30));
                break;
            case GgmlType.Q3_K: Half(b[108..], Jitter(rng, scale / 128)); break;              // d·(sc−32)·q, q ∈ [−4,3]
            case GgmlType.Q4_K:                                                                 // d·sc·q − dmin·m, sc, m ≤ 63, q ≤ 15
                Half(b, Jitter(rng, scale / (63 * 15)));
                Half(b[2..], Jitter(rng, scale / (63 * 2)));
                break;
            case GgmlType.Q5_K:
                Half(b, Jitter(rng, scale / (63 * 31)));
                Half(b[2..], Jitter(rng, scale / (63 * 2)));
                break;
            case GgmlType.Q6_K:                                                                 // d·sc·(q−32), sc ∈ [−64,63]
                SignedBytes(rng, b.Slice(192, 16), 63);
                Half(b[208..], Jitter(rng, scale / (64 * 32)));
                break;
            case GgmlType.Q8_K:
            {
                BinaryPrimitives.WriteSingleLittleEndian(b, Jitter(rng, scale / 127));
                SignedBytes(rng, b.Slice(4, 256), 127);
                for (int g = 0; g < 16; g++)
                {
                    int sum = 0;
                    for (int i = 0; i < 16; i++) sum += (sbyte)b[4 + 16 * g + i];
                    BinaryPrimitives.WriteInt16LittleEndian(b[(260 + 2 * g)..], (short)sum);
                }
                break;
            }
            case GgmlType.IQ2_XXS: Half(b, Jitter(rng, scale / (3.875f * 43))); break;         // d·(0.5+s)/4·grid, s ≤ 15, grid ≤ 43
            case GgmlType.IQ2_XS: Half(b, Jitter(rng, scale / (3.875f * 43))); break;
            case GgmlType.IQ2_S: Half(b, Jitter(rng, scale / (3.875f * 43))); break;
            case GgmlType.IQ3_XXS: Half(b, Jitter(rng, scale / (7.75f * 62))); break;          // d·(0.5+s)/2·grid, grid ≤ 62
            case GgmlType.IQ3_S: Half(b, Jitter(rng, scale / (31 * 15))); break;               // d·(1+2s)·grid, grid ≤ 15
            case GgmlType.IQ1_S: Half(b, Jitter(rng, scale / (15 * 1.125f))); break;           // d·(2s+1)·(g ± 1/8)
            case GgmlType.IQ1_M:
            {
                // The f16 block scale lives in the top nibbles of the four scale words.
                ushort d = Fp16.FromFloat(Jitter(rng, scale / (15 * 1.125f)));
                for (int w = 0; w < 4; w++)
                {
                    var word = b.Slice(48 + 2 * w, 2);
                    ushort v = (ushort)((BinaryPrimitives.ReadUInt16LittleEndian(word) & 0x0FFF) | (((d >> (4 * w)) & 15) << 12));
                    BinaryPrimitives.WriteUInt16LittleEndian(word, v);
                }
                break;
            }
            case GgmlType.IQ4_NL: Half(b, Jitter(rng, scale / 127)); break;                    // d·level, |level| ≤ 127
            case GgmlType.IQ4_XS: Half(b, Jitter(rng, scale / (32 * 127))); break;             // d·(ls−32)·level
            case GgmlType.TQ1_0: Half(b[52..], Jitter(rng, scale)); break;                     // d·(digit−1)
            case GgmlType.TQ2_0:
                for (int i = 0; i < 64; i++)                                                    // codes 0..2 only (3 is not ternary)
                    b[i] = (byte)(rng.Next(3) | rng.Next(3) << 2 | rng.Next(3) << 4 | rng.Next(3) << 6);
                Half(b[64..], Jitter(rng, scale));
                break;
            case GgmlType.MXFP4:                                                                // E8M0 e: 2^(e−127), × level/2, |level| ≤ 12
                b[0] = (byte)Math.Clamp(127 + (int)MathF.Floor(MathF.Log2(scale / 6)), 1, 254);
                break;
            default:
                throw new NotSupportedException($"random blocks of {type} are not supported");
        }
    }
}
