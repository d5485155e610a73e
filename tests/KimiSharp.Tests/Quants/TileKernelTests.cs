using KimiSharp.Quants;
using KimiSharp.Quants.Tiles;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// The tile kernels (one weight row × up to 8 tokens) against the dequantized product in double: their integer sums are
/// exact, so only float rounding may differ (relative 1e-5 of Σ|w·a|). Each token's result must not depend on how many
/// tokens share the tile (batch invariance of the fast path).
/// </summary>
public unsafe class TileKernelTests
{
    private const int Cols = 2048, Rows = 5, Tokens = TileKernels.MaxTokens;

    public static TheoryData<GgmlType, string> Cases()
    {
        var data = new TheoryData<GgmlType, string>();
        foreach (var t in new[] { GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.IQ2_XXS })
            foreach (var kind in new[] { "valid", "random-bits", "extreme-scales" })
                data.Add(t, kind);
        return data;
    }

    /// <summary>Byte offsets of each block's fp16 scales (d, and dmin for Q4_K).</summary>
    private static int[] ScaleOffsets(GgmlType t) => t switch
    {
        GgmlType.Q4_K => [0, 2],
        GgmlType.Q6_K => [208],
        _ => [0],
    };

    private static byte[] Weights(GgmlType t, string kind, int seed)
    {
        var info = GgmlTypes.Get(t);
        var bytes = new byte[info.RowBytes(Cols) * Rows];
        var rng = new Random(seed);
        if (kind == "valid")
        {
            RandomBlocks.Fill(t, bytes, rng, 0.05f);
            return bytes;
        }
        rng.NextBytes(bytes);
        // finite scales: ordinary ones, or the extremes of fp16 (max, subnormal, ±0) with one all-zero block
        ushort[] extremes = [0x7BFF, 0xFBFF, 0x0001, 0x8001, 0x0000, 0x8000, 0x3C00, 0x0400];
        for (int b = 0; b < bytes.Length / info.TypeSize; b++)
            for (int k = 0; k < ScaleOffsets(t).Length; k++)
            {
                ushort h = kind == "random-bits" ? Fp16.FromFloat((float)(rng.NextDouble() * 2 - 1) * 0.01f) : extremes[(b + 3 * k) % extremes.Length];
                BitConverter.TryWriteBytes(bytes.AsSpan(b * info.TypeSize + ScaleOffsets(t)[k]), h);
            }
        if (kind == "extreme-scales")
            Array.Clear(bytes, info.TypeSize, info.TypeSize);
        return bytes;
    }

    /// <summary>Q8_K rows: awkward values (zeros, outliers, ties, large), plain random ones and an all-zero row.</summary>
    private static byte[] Activations(out int rowBytes)
    {
        rowBytes = (int)GgmlTypes.Get(GgmlType.Q8_K).RowBytes(Cols);
        var a = new byte[rowBytes * Tokens];
        for (int j = 0; j < Tokens; j++)
        {
            var x = j switch
            {
                0 => TestData.Awkward(256, 7),
                3 => new float[Cols],
                _ => TestData.Floats(Cols, 100 + j, j * 3f),
            };
            ActivationQuantizer.Quantize(GgmlType.Q8_K, x, a.AsSpan(j * rowBytes, rowBytes));
        }
        return a;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Tile_kernel_matches_dequantized_product_and_is_batch_invariant(GgmlType type, string kind)
    {
        if (!TileKernels.TryGet(type, out var kernel))
        {
            Assert.False(TileKernels.Available, $"{type} has a tile kernel wherever AVX2+FMA are");
            return; // no tile kernel on this machine (no AVX2): MatMul runs the codec's vec_dot instead
        }
        var w = Weights(type, kind, 11);
        var a = Activations(out int aRow);
        long wRow = GgmlTypes.Get(type).RowBytes(Cols);
        var wf = new float[Cols * Rows];
        QuantCodecs.Dequantize(type, w, wf);
        var af = new float[Cols * Tokens];
        QuantCodecs.Dequantize(GgmlType.Q8_K, a, af);
        var alone = new float[Rows * Tokens];
        var y = new float[Tokens];
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        fixed (float* py = y)
        {
            byte** ptrs = stackalloc byte*[Tokens];
            for (int j = 0; j < Tokens; j++) ptrs[j] = pa + j * aRow;
            for (int r = 0; r < Rows; r++)
                for (int j = 0; j < Tokens; j++)
                {
                    kernel.Run(pw + r * wRow, ptrs + j, 1, Cols, py);
                    alone[r * Tokens + j] = y[0];
                    double exact = 0, magnitude = 0;
                    for (int k = 0; k < Cols; k++)
                    {
                        double p = (double)wf[r * Cols + k] * af[j * Cols + k];
                        exact += p;
                        magnitude += Math.Abs(p);
                    }
                    Assert.True(Math.Abs(y[0] - exact) <= 1e-5 * magnitude + 1e-30,
                        $"{type} {kind} row {r} token {j}: {y[0]} vs {exact} (Σ|w·a| {magnitude})");
                }
            for (int n = 2; n <= Tokens; n++)
                for (int first = 0; first + n <= Tokens; first += n)
                    for (int r = 0; r < Rows; r++)
                    {
                        kernel.Run(pw + r * wRow, ptrs + first, n, Cols, py);
                        for (int j = 0; j < n; j++)
                            Assert.True(alone[r * Tokens + first + j].Equals(y[j]),
                                $"{type} {kind} row {r}: token {first + j} in a tile of {n} gave {y[j]}, alone {alone[r * Tokens + first + j]}");
                    }
        }
    }

    [Theory]
    [InlineData("valid")]
    [InlineData("random-bits")]
    [InlineData("extreme-scales")]
    public void Q4K_four_row_mat_vec_gives_the_tile_kernels_bits_per_row(string kind)
    {
        if (!TileKernels.TryGet(GgmlType.Q4_K, out var kernel)) return; // no AVX2: MatVec runs the codec's vec_dot
        var w = Weights(GgmlType.Q4_K, kind, 12);
        var a = Activations(out int aRow);
        long wRow = GgmlTypes.Get(GgmlType.Q4_K).RowBytes(Cols);
        var y = new float[Rows];
        var tile = new float[1];
        var codec = QuantCodecs.GetCodec(GgmlType.Q4_K);
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        fixed (float* py = y)
        fixed (float* pt = tile)
            for (int j = 0; j < Tokens; j++)
            {
                byte* act = pa + j * aRow;
                Q4KRows.Run4(pw, wRow, act, Cols, py); // rows 0..3 in one pass
                for (int r = 0; r < 4; r++)
                {
                    kernel.Run(pw + r * wRow, &act, 1, Cols, pt);
                    Assert.True(tile[0].Equals(y[r]), $"{kind} token {j} row {r}: four-row {y[r]}, tile {tile[0]}");
                }
                // MatMul's fast mat-vec over 5 rows (one pass of 4 and one left over) agrees with the dequantized product
                KimiSharp.Compute.MatMul.MatVec(GgmlType.Q4_K, codec, pw, wRow, Rows, act, Cols, py);
                for (int r = 0; r < Rows; r++)
                {
                    float expected = codec.VecDot(pw + r * wRow, act, Cols);
                    Assert.True(Math.Abs(y[r] - expected) <= 1e-4f * Math.Max(1f, Math.Abs(expected)) || (float.IsNaN(expected) && float.IsNaN(y[r])),
                        $"{kind} token {j} row {r}: mat-vec {y[r]}, vec_dot {expected}");
                }
            }
    }

    [Theory]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    [InlineData(GgmlType.IQ2_XXS)]
    public void Zero_weights_give_zero(GgmlType type)
    {
        if (!TileKernels.TryGet(type, out var kernel)) return; // no AVX2: nothing to test
        var w = new byte[GgmlTypes.Get(type).RowBytes(Cols)];
        var a = Activations(out int aRow);
        var y = new float[Tokens];
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        fixed (float* py = y)
        {
            byte** ptrs = stackalloc byte*[Tokens];
            for (int j = 0; j < Tokens; j++) ptrs[j] = pa + j * aRow;
            kernel.Run(pw, ptrs, Tokens, Cols, py);
        }
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Tile_count_outside_one_to_eight_is_rejected()
    {
        if (!TileKernels.TryGet(GgmlType.Q4_K, out var kernel)) return;
        var w = new byte[144];
        var a = new byte[292];
        var y = new float[9];
        Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            fixed (byte* pw = w)
            fixed (byte* pa = a)
            fixed (float* py = y)
            {
                byte** ptrs = stackalloc byte*[9];
                for (int j = 0; j < 9; j++) ptrs[j] = pa;
                kernel.Run(pw, ptrs, 9, 256, py);
            }
        });
    }
}
