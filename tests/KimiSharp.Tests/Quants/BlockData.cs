using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

/// <summary>Random blocks of the float/legacy/k-quant formats: random bits everywhere, scale fields set to finite values.</summary>
internal static class BlockData
{
    /// <summary>Byte offsets of the fp16 scale fields of one block (F32/F16/BF16 handled separately).</summary>
    public static int[] ScaleOffsets(GgmlType t) => t switch
    {
        GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 => [0],
        GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
        GgmlType.Q2_K => [80, 82],
        GgmlType.Q3_K => [108],
        GgmlType.Q6_K => [208],
        _ => [],
    };

    public static byte[] Random(GgmlType t, int elements, int seed, float scale = 0.01f)
    {
        var info = GgmlTypes.Get(t);
        var rng = new Random(seed);
        var bytes = new byte[info.RowBytes(elements)];
        rng.NextBytes(bytes);
        float Next() => (float)(rng.NextDouble() * 2 - 1) * scale;
        switch (t)
        {
            case GgmlType.F32:
                for (int i = 0; i < elements; i++) BitConverter.TryWriteBytes(bytes.AsSpan(4 * i), Next() * 100);
                return bytes;
            case GgmlType.F16:
                for (int i = 0; i < elements; i++) BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), Fp16.FromFloat(Next() * 100));
                return bytes;
            case GgmlType.BF16:
                for (int i = 0; i < elements; i++) BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), Fp16.FloatToBF16(Next() * 100));
                return bytes;
            case GgmlType.Q8_K:
                for (int b = 0; b < elements / 256; b++) BitConverter.TryWriteBytes(bytes.AsSpan(b * 292), Next());
                return bytes;
        }
        for (int b = 0; b < elements / info.BlockSize; b++)
            foreach (int off in ScaleOffsets(t))
                BitConverter.TryWriteBytes(bytes.AsSpan(b * info.TypeSize + off), Fp16.FromFloat(Next()));
        return bytes;
    }

    /// <summary>Blocks whose scale fields hold every awkward half: zero, −0, subnormals, max, Inf, NaN (random payload bits elsewhere).</summary>
    public static byte[] Extreme(GgmlType t, int seed)
    {
        ushort[] halves = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE01, 0x3C00, 0x1234, 0xC000];
        var info = GgmlTypes.Get(t);
        int blocks = halves.Length * 2;
        var rng = new Random(seed);
        var bytes = new byte[blocks * info.TypeSize];
        rng.NextBytes(bytes);
        if (t is GgmlType.F16 or GgmlType.BF16)
        {
            for (int i = 0; i < bytes.Length / 2; i++) BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), halves[i % halves.Length]);
            return bytes;
        }
        var offsets = ScaleOffsets(t);
        for (int b = 0; b < blocks; b++)
            for (int k = 0; k < offsets.Length; k++)
                BitConverter.TryWriteBytes(bytes.AsSpan(b * info.TypeSize + offsets[k]), halves[(b + k * 5) % halves.Length]);
        // one all-zero block
        Array.Clear(bytes, 0, info.TypeSize);
        return bytes;
    }
}
