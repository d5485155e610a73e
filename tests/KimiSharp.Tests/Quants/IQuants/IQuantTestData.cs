using System.Buffers.Binary;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants.IQuants;

/// <summary>Blocks and activations for the i-quant tests: random, extreme and degenerate, all from fixed seeds.</summary>
internal static class IQuantTestData
{
    public static readonly GgmlType[] Types =
    [
        GgmlType.IQ1_S, GgmlType.IQ1_M, GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ2_S, GgmlType.IQ3_XXS,
        GgmlType.IQ3_S, GgmlType.IQ4_NL, GgmlType.IQ4_XS, GgmlType.TQ1_0, GgmlType.TQ2_0,
    ];

    public static TheoryData<GgmlType> TypeData()
    {
        var data = new TheoryData<GgmlType>();
        foreach (var t in Types) data.Add(t);
        return data;
    }

    /// <summary>F16 scale bit patterns that stress the conversion: ±0, subnormals, the largest finite, ±Inf, quiet and signalling NaN.</summary>
    public static readonly ushort[] ExtremeScales = [0x0000, 0x8000, 0x0001, 0x03FF, 0x8200, 0x0400, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0x3C00];

    /// <summary>Overwrites a block's f16 super-scale (IQ1_M: spread over the top nibbles of its scale words).</summary>
    public static void SetScale(GgmlType type, Span<byte> block, ushort bits)
    {
        switch (type)
        {
            case GgmlType.IQ1_M:
                for (int w = 0; w < 4; w++)
                {
                    var word = block.Slice(48 + 2 * w, 2);
                    ushort v = (ushort)((BinaryPrimitives.ReadUInt16LittleEndian(word) & 0x0FFF) | (((bits >> (4 * w)) & 15) << 12));
                    BinaryPrimitives.WriteUInt16LittleEndian(word, v);
                }
                break;
            case GgmlType.TQ1_0: BinaryPrimitives.WriteUInt16LittleEndian(block[52..], bits); break;
            case GgmlType.TQ2_0: BinaryPrimitives.WriteUInt16LittleEndian(block[64..], bits); break;
            default: BinaryPrimitives.WriteUInt16LittleEndian(block, bits); break;
        }
    }

    /// <summary>
    /// A row of blocks mixing: fully random bytes (any byte pattern is a valid block of these types, so this covers
    /// random scales too), RandomBlocks output, every extreme scale, and all-zero blocks.
    /// </summary>
    public static byte[] MixedRow(GgmlType type, int seed, out int elements)
    {
        var info = GgmlTypes.Get(type);
        var rng = new Random(seed);
        int randomBlocks = 8, generated = 8, extremes = ExtremeScales.Length, zeros = 2;
        int blocks = randomBlocks + generated + extremes + zeros;
        var row = new byte[blocks * info.TypeSize];
        rng.NextBytes(row.AsSpan(0, randomBlocks * info.TypeSize));
        RandomBlocks.Fill(type, row.AsSpan(randomBlocks * info.TypeSize, generated * info.TypeSize), rng, 0.5f);
        for (int i = 0; i < extremes; i++)
        {
            var block = row.AsSpan((randomBlocks + generated + i) * info.TypeSize, info.TypeSize);
            rng.NextBytes(block);
            SetScale(type, block, ExtremeScales[i]);
        }
        elements = blocks * info.BlockSize;
        return row;
    }

    /// <summary>Random weights of magnitude ~1 and activations quantized to the type's vec-dot format by our (ggml-exact) quantizer.</summary>
    public static (byte[] Weights, byte[] Activations, float[] WeightValues, float[] ActivationValues) DotOperands(GgmlType type, int n, int seed)
    {
        var rng = new Random(seed);
        var info = GgmlTypes.Get(type);
        var weights = new byte[n / info.BlockSize * info.TypeSize];
        RandomBlocks.Fill(type, weights, rng, 1f);
        var x = TestData.Floats(n, seed + 1000, 2f);
        var actType = QuantCodecs.VecDotType(type);
        var activations = new byte[GgmlTypes.Get(actType).RowBytes(n)];
        ActivationQuantizer.Quantize(actType, x, activations);
        return (weights, activations, GgmlOracle.Dequantize(type, weights, n), DecodeActivations(actType, activations, n));
    }

    /// <summary>
    /// Decodes the 8-bit activation formats (ggml has no to_float for Q8_K): Q8_K = d:f32 · q, Q8_0 / Q8_1 = d:f16 · q.
    /// Other types go through ggml.
    /// </summary>
    public static float[] DecodeActivations(GgmlType type, ReadOnlySpan<byte> bytes, int n)
    {
        var y = new float[n];
        switch (type)
        {
            case GgmlType.Q8_K:
                for (int i = 0; i < n; i++)
                    y[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i / 256 * 292)..]) * (sbyte)bytes[i / 256 * 292 + 4 + i % 256];
                return y;
            case GgmlType.Q8_0:
            case GgmlType.Q8_1:
                int size = type == GgmlType.Q8_0 ? 34 : 36, qs = type == GgmlType.Q8_0 ? 2 : 4;
                for (int i = 0; i < n; i++)
                    y[i] = Fp16.ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i / 32 * size)..])) * (sbyte)bytes[i / 32 * size + qs + i % 32];
                return y;
            case GgmlType.F32:
                return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            default:
                return GgmlOracle.Dequantize(type, bytes, n);
        }
    }

    public static double Norm(float[] v)
    {
        double s = 0;
        foreach (var f in v) s += (double)f * f;
        return Math.Sqrt(s);
    }
}
