using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// The float types' mat-vec kernels (<see cref="IQuantCodec.VecDotRows"/> of F16, BF16, F32): every output bit-identical
/// to that row's <see cref="IQuantCodec.VecDot"/> and to ggml-cpu's own vec_dot, over random rows with zeros, −0,
/// subnormals, Inf and NaN in some steps (weights and activations), lengths with leftovers, row counts that are not
/// multiples of the group, and rows strided apart.
/// </summary>
public unsafe class FloatRowsTests
{
    private static readonly int[] Lengths = [64, 100, 63, 4096, 4096 + 37, 64 * 7 + 1, 1024 + 48];
    private static readonly int[] RowCounts = [1, 2, 3, 4, 5, 7, 9, 13];

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.F32)]
    public void Random_rows_with_zeros_and_subnormals_equal_vec_dot_and_ggml(GgmlType t)
    {
        int seed = 1;
        foreach (int n in Lengths)
            foreach (int rows in RowCounts)
            {
                var w = Elements(t, rows * n, seed++, special: 0.03, infNaN: false);
                var a = Elements(t, n, seed++, special: 0.03, infNaN: false);
                Check(t, w, a, n, rows, strideExtra: (rows % 3) * 2 * ElementBytes(t) + (rows % 2) * 64);
            }
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.F32)]
    public void Clean_rows_and_extreme_magnitudes_equal_vec_dot_and_ggml(GgmlType t)
    {
        // no special values at all (the hot path only), and halves at the ends of the finite range
        foreach (int n in new[] { 64, 4096, 4096 + 37 })
            foreach (int rows in new[] { 4, 6 })
            {
                Check(t, Elements(t, rows * n, n + rows, special: 0, infNaN: false), Elements(t, n, n, special: 0, infNaN: false), n, rows, 0);
                var w = Elements(t, rows * n, n - rows, special: 0, infNaN: false);
                var a = Elements(t, n, n + 1, special: 0, infNaN: false);
                var rng = new Random(n);
                for (int k = 0; k < n / 8; k++)
                {
                    Set(t, w, rng.Next(rows * n), Largest(t, rng.Next(2) == 0));
                    Set(t, a, rng.Next(n), Largest(t, rng.Next(2) == 0));
                    Set(t, w, rng.Next(rows * n), SmallestSubnormal(t, rng.Next(2) == 0));
                }
                Check(t, w, a, n, rows, 2 * ElementBytes(t));
            }
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.F32)]
    public void Inf_and_NaN_in_weights_or_activations_equal_vec_dot_and_ggml(GgmlType t)
    {
        const int n = 64 * 5 + 21, rows = 7;
        var rng = new Random(11);
        foreach (bool inActivation in new[] { false, true })
            for (int trial = 0; trial < 12; trial++)
            {
                var w = Elements(t, rows * n, 100 + trial, special: 0.02, infNaN: false);
                var a = Elements(t, n, 200 + trial, special: 0.02, infNaN: false);
                // one Inf or NaN: in the main steps, or in the leftovers (trial odd)
                int at = trial % 2 == 0 ? rng.Next(n - 21) : n - 1 - rng.Next(21);
                ulong value = InfOrNaN(t, trial / 2);
                if (inActivation)
                    Set(t, a, at, value);
                else
                    Set(t, w, rng.Next(rows) * n + at, value);
                Check(t, w, a, n, rows, 64);
            }
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.BF16)]
    [InlineData(GgmlType.F32)]
    public void Many_long_rows_equal_vec_dot_and_ggml(GgmlType t)
    {
        // several row blocks, rows of two and three activation chunks, an odd last row; then one Inf weight deep inside
        const int rows = 35;
        foreach (int n in new[] { 7168 + 5, 64 * 130 + 3 })
        {
            var w = Elements(t, rows * n, n, special: 0.01, infNaN: false);
            var a = Elements(t, n, n + 1, special: 0.01, infNaN: false);
            Check(t, w, a, n, rows, 2 * ElementBytes(t));
            Set(t, w, 20 * n + 5000, InfOrNaN(t, 0));
            Check(t, w, a, n, rows, 0);
        }
    }

    /// <summary>Runs VecDotRows on strided rows; each output must equal VecDot and ggml's vec_dot bit for bit.</summary>
    private static void Check(GgmlType t, byte[] packed, byte[] act, int n, int rows, int strideExtra)
    {
        var codec = QuantCodecs.GetCodec(t);
        long rowBytes = GgmlTypes.Get(t).RowBytes(n);
        long stride = rowBytes + strideExtra;
        var strided = new byte[stride * rows + 64];
        for (int r = 0; r < rows; r++)
            packed.AsSpan((int)(r * rowBytes), (int)rowBytes).CopyTo(strided.AsSpan((int)(r * stride)));
        var y = new float[rows + 1];
        y[rows] = 12345f;
        fixed (byte* pw = strided)
        fixed (byte* pa = act)
        fixed (float* py = y)
        {
            codec.VecDotRows(pw, stride, pa, n, py, rows);
            for (int r = 0; r < rows; r++)
            {
                uint ours = BitConverter.SingleToUInt32Bits(y[r]);
                float single = codec.VecDot(pw + r * stride, pa, n);
                Assert.True(BitConverter.SingleToUInt32Bits(single) == ours,
                    $"{t} n={n}: row {r} of {rows}: VecDotRows {y[r]:R} ({ours:X8}), VecDot {single:R}");
                if (GgmlOracle.IsReproducedBuild)
                {
                    float ggml = GgmlOracle.VecDot(t, pw + r * stride, pa, n);
                    Assert.True(BitConverter.SingleToUInt32Bits(ggml) == ours,
                        $"{t} n={n}: row {r} of {rows}: VecDotRows {y[r]:R} ({ours:X8}), ggml {ggml:R} ({BitConverter.SingleToUInt32Bits(ggml):X8})");
                }
            }
        }
        Assert.Equal(12345f, y[rows]); // nothing written past the rows asked for
    }

    private static int ElementBytes(GgmlType t) => t == GgmlType.F32 ? 4 : 2;

    /// <summary>
    /// Random elements (bits): mostly normal values of mixed magnitudes; with probability <paramref name="special"/> per
    /// element in every other 64-element step, a zero, −0 or subnormal (and, if <paramref name="infNaN"/>, Inf or NaN).
    /// </summary>
    private static byte[] Elements(GgmlType t, int count, int seed, double special, bool infNaN)
    {
        var rng = new Random(seed);
        var bytes = new byte[count * ElementBytes(t)];
        for (int i = 0; i < count; i++)
        {
            float scale = (float)Math.Pow(10, rng.Next(-4, 3));
            float v = (float)(rng.NextDouble() * 2 - 1) * scale;
            ulong bits = t switch
            {
                GgmlType.F16 => Fp16.FromFloat(v),
                GgmlType.BF16 => Fp16.FloatToBF16(v),
                _ => BitConverter.SingleToUInt32Bits(v),
            };
            if ((i / 64) % 2 == 1 && rng.NextDouble() < special)
            {
                bool negative = rng.Next(2) == 0;
                bits = rng.Next(infNaN ? 4 : 3) switch
                {
                    0 => 0,
                    1 => (ulong)rng.Next(1, 128), // a small subnormal (every type's mantissa has ≥ 7 bits)
                    2 => LargestSubnormal(t) - (ulong)rng.Next(0, 64),
                    _ => InfOrNaN(t, rng.Next(4)),
                } | (negative ? SignBit(t) : 0);
            }
            Set(t, bytes, i, bits);
        }
        return bytes;
    }

    private static ulong SignBit(GgmlType t) => t == GgmlType.F32 ? 0x80000000u : 0x8000u;

    private static ulong Largest(GgmlType t, bool negative) => (t switch
    {
        GgmlType.F16 => 0x7BFFu,
        GgmlType.BF16 => 0x7F7Fu,
        _ => 0x7F7FFFFFu,
    }) | (negative ? SignBit(t) : 0);

    private static ulong LargestSubnormal(GgmlType t) => t switch
    {
        GgmlType.F16 => 0x03FFu,
        GgmlType.BF16 => 0x007Fu,
        _ => 0x007FFFFFu,
    };

    private static ulong SmallestSubnormal(GgmlType t, bool negative) => 1u | (negative ? SignBit(t) : 0);

    /// <summary>+Inf, −Inf, a quiet NaN, a signalling NaN with payload (by <paramref name="kind"/> mod 4).</summary>
    private static ulong InfOrNaN(GgmlType t, int kind) => (t, kind % 4) switch
    {
        (GgmlType.F16, 0) => 0x7C00u,
        (GgmlType.F16, 1) => 0xFC00u,
        (GgmlType.F16, 2) => 0x7E00u,
        (GgmlType.F16, _) => 0xFC01u,
        (GgmlType.BF16, 0) => 0x7F80u,
        (GgmlType.BF16, 1) => 0xFF80u,
        (GgmlType.BF16, 2) => 0x7FC0u,
        (GgmlType.BF16, _) => 0xFF81u,
        (_, 0) => 0x7F800000u,
        (_, 1) => 0xFF800000u,
        (_, 2) => 0x7FC00000u,
        _ => 0xFF800123u,
    };

    private static void Set(GgmlType t, byte[] bytes, int index, ulong bits)
    {
        if (t == GgmlType.F32)
            BitConverter.TryWriteBytes(bytes.AsSpan(4 * index), (uint)bits);
        else
            BitConverter.TryWriteBytes(bytes.AsSpan(2 * index), (ushort)bits);
    }
}
