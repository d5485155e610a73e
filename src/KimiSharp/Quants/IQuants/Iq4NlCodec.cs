using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// IQ4_NL, 4.5 bpw, 32-wide (pairs with Q8_0 activations, as in ggml). Block (18 bytes): d:f16, qs[16];
/// element j = d·levels[qs[j] &amp; 15], element j+16 = d·levels[qs[j] &gt;&gt; 4] with the 16 non-linear levels.
/// </summary>
internal sealed unsafe class Iq4NlCodec : IQuantCodecBase
{
    public override GgmlType Type => GgmlType.IQ4_NL;

    public override GgmlType VecDotType => GgmlType.Q8_0;

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(block);
        var values = IQuantGrids.Iq4NlValues;
        byte* qs = block + 2;
        for (int j = 0; j < 16; j++)
        {
            y[j] = d * values[qs[j] & 15];
            y[j + 16] = d * values[qs[j] >> 4];
        }
    }

    public override bool CanQuantize => true;

    public override void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Span<byte> levels = stackalloc byte[32];
        levels.Clear();
        for (int b = 0; b < src.Length / 32; b++)
            Iq4Quantizer.QuantizeNl(src.Slice(32 * b, 32), dst.Slice(18 * b, 18), levels);
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Vector128.IsHardwareAccelerated) list.Add(new("Vector128", &IQuantsVector128.Iq4NlDot));
        if (HasAvx2) list.Add(new("Avx2", &DotAvx2));
        if (HasAvx512) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotScalar(byte* x, byte* y, int n)
    {
        var values = IQuantGrids.Iq4NlValues;
        float sum = 0;
        for (int b = 0; b < n / 32; b++, x += 18, y += Q80Bytes)
        {
            float d = Half(y) * Half(x);
            byte* qs = x + 2;
            sbyte* q8 = (sbyte*)(y + 2);
            int sum1 = 0, sum2 = 0;
            for (int j = 0; j < 16; j++)
            {
                sum1 += q8[j] * values[qs[j] & 15];
                sum2 += q8[j + 16] * values[qs[j] >> 4];
            }
            sum += d * (sum1 + sum2);
        }
        return sum;
    }

    /// <summary>The 16 levels in both 128-bit lanes, for byte shuffles.</summary>
    internal static Vector256<sbyte> LevelTable => Vector256.Create(Vector128.Create(IQuantGrids.Iq4NlValues));

    /// <summary>16 packed bytes → 32 lanes of signed levels: low nibbles in the first 16 lanes, high nibbles in the next 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<sbyte> Levels(byte* qs, Vector256<sbyte> table)
    {
        var packed = Vector128.Load(qs);
        var nibbles = Vector256.Create(packed, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)15);
        return Avx2.Shuffle(table, nibbles.AsSByte());
    }

    /// <summary>Signed×signed byte products summed to i32 lanes via |w|·(a·sign w) (|w| ≤ 127 keeps i16 pairs exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<short> SignedPairs(Vector256<sbyte> w, Vector256<sbyte> a) =>
        Avx2.MultiplyAddAdjacent(Avx2.Abs(w), Avx2.Sign(a, w));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        var table = LevelTable;
        var ones = Vector256.Create((short)1);
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        int blocks = n / 32, b = 0;
        for (; b + 1 < blocks; b += 2, x += 36, y += 2 * Q80Bytes)
        {
            var p1 = Avx2.MultiplyAddAdjacent(SignedPairs(Levels(x + 2, table), Avx.LoadVector256((sbyte*)(y + 2))), ones);
            var p2 = Avx2.MultiplyAddAdjacent(SignedPairs(Levels(x + 20, table), Avx.LoadVector256((sbyte*)(y + Q80Bytes + 2))), ones);
            acc1 = Fma.MultiplyAdd(Vector256.Create(Half(y) * Half(x)), Avx.ConvertToVector256Single(p1), acc1);
            acc2 = Fma.MultiplyAdd(Vector256.Create(Half(y + Q80Bytes) * Half(x + 18)), Avx.ConvertToVector256Single(p2), acc2);
        }
        float sum = Sum(acc1 + acc2);
        if (b < blocks)
            sum = LastBlock(x, y, sum);
        return sum;
    }

    /// <summary>ggml's scalar leftover for an odd block count: sum + d·Σ w·a, fused.</summary>
    private static float LastBlock(byte* x, byte* y, float sum)
    {
        var values = IQuantGrids.Iq4NlValues;
        byte* qs = x + 2;
        sbyte* q8 = (sbyte*)(y + 2);
        int dot = 0;
        for (int j = 0; j < 16; j++)
            dot += q8[j] * values[qs[j] & 15] + q8[j + 16] * values[qs[j] >> 4];
        return MathF.FusedMultiplyAdd(Half(y) * Half(x), dot, sum);
    }

    /// <summary>
    /// Two blocks per 512-bit step: nibbles regrouped to [block 0 low, block 0 high, block 1 low, block 1 high]. The low
    /// and high halves of the accumulator are ggml's two AVX2 accumulators (even and odd blocks), so the result is
    /// bit-identical to its vec_dot.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        float* f16 = HalfTable;
        var (magnitudes, signs) = SignedLevels();
        var accEven = Vector256<float>.Zero;  // ggml's two AVX2 accumulators: even and odd blocks
        var accOdd = Vector256<float>.Zero;
        int blocks = n / 32, b = 0;
        for (; b + 1 < blocks; b += 2, x += 36, y += 2 * Q80Bytes)
        {
            var p = Avx512F.ConvertToVector512Single(TwoBlockLanes(x, y, magnitudes, signs));
            accEven = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)y] * f16[*(ushort*)x]), p.GetLower(), accEven);
            accOdd = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)(y + Q80Bytes)] * f16[*(ushort*)(x + 18)]), p.GetUpper(), accOdd);
        }
        float sum = Sum(accEven + accOdd);
        if (b < blocks)
            sum = LastBlock(x, y, sum);
        return sum;
    }

    /// <summary>|level| and level &lt; 0 of the 16 IQ4_NL levels, in every 128-bit lane (shuffle tables).</summary>
    private static (Vector512<sbyte> Magnitudes, Vector512<sbyte> Signs) SignedLevels()
    {
        var table = Vector512.Create(Vector128.Create(IQuantGrids.Iq4NlValues));
        return (Vector512.Abs(table), Vector512.LessThan(table, Vector512<sbyte>.Zero));
    }

    /// <summary>
    /// The integer lanes of two consecutive blocks (8 per block, each Σ of 4 products): nibbles regrouped to [block 0
    /// low, block 0 high, block 1 low, block 1 high] and looked up as |level| with the level's sign moved onto a.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> TwoBlockLanes(byte* x, byte* y, Vector512<sbyte> magnitudes, Vector512<sbyte> signs)
    {
        var packed = Vector256.Create(Vector128.Load(x + 2), Vector128.Load(x + 20));
        var both = SimdOps.Join(packed, Avx2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()) & Vector512.Create((byte)15);
        var nibbles = Avx512F.PermuteVar8x64(both.AsUInt64(), Vector512.Create(0UL, 1, 4, 5, 2, 3, 6, 7)).AsSByte();
        var a = SimdOps.Join(Vector256.Load((sbyte*)(y + 2)), Vector256.Load((sbyte*)(y + Q80Bytes + 2)));
        var u = Avx512BW.Shuffle(magnitudes, nibbles).AsByte();
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Negate(a, Avx512BW.Shuffle(signs, nibbles))), Vector512.Create((short)1));
    }

    /// <summary>
    /// Σ w·a in the order of llama.cpp's batched path (llamafile's tinyBLAS_Q0_AVX, used by ggml-cpu for a plain
    /// IQ4_NL mat-mul of two or more tokens): ONE 8-lane accumulator, acc = fma(d_w·d_a, lanes, acc) block after block,
    /// then the horizontal add. The lanes are vec_dot's, so only the accumulation differs (vec_dot keeps two).
    /// Bit-identical to tinyBLAS with AVX2 or better; the portable fallback is only close.
    /// </summary>
    public static float DotOneAccumulator(byte* x, byte* y, int n) =>
        HasAvx512 ? DotOneAccumulatorAvx512(x, y, n) : HasAvx2 ? DotOneAccumulatorAvx2(x, y, n) : DotScalar(x, y, n);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotOneAccumulatorAvx2(byte* x, byte* y, int n)
    {
        var table = LevelTable;
        var ones = Vector256.Create((short)1);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 32; b++, x += 18, y += Q80Bytes)
        {
            var p = Avx2.MultiplyAddAdjacent(SignedPairs(Levels(x + 2, table), Avx.LoadVector256((sbyte*)(y + 2))), ones);
            acc = Fma.MultiplyAdd(Vector256.Create(Half(x) * Half(y)), Avx.ConvertToVector256Single(p), acc);
        }
        return Sum(acc);
    }

    /// <summary>Two blocks' integer lanes per 512-bit step (as <see cref="DotAvx512"/>), then their two FMAs in block order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotOneAccumulatorAvx512(byte* x, byte* y, int n)
    {
        float* f16 = HalfTable;
        var (magnitudes, signs) = SignedLevels();
        var acc = Vector256<float>.Zero;
        int blocks = n / 32, b = 0;
        for (; b + 1 < blocks; b += 2, x += 36, y += 2 * Q80Bytes)
        {
            var p = Avx512F.ConvertToVector512Single(TwoBlockLanes(x, y, magnitudes, signs));
            acc = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)x] * f16[*(ushort*)y]), p.GetLower(), acc);
            acc = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)(x + 18)] * f16[*(ushort*)(y + Q80Bytes)]), p.GetUpper(), acc);
        }
        if (b < blocks)
        {
            var p = Avx2.MultiplyAddAdjacent(SignedPairs(Levels(x + 2, LevelTable), Avx.LoadVector256((sbyte*)(y + 2))), Vector256.Create((short)1));
            acc = Fma.MultiplyAdd(Vector256.Create(Half(x) * Half(y)), Avx.ConvertToVector256Single(p), acc);
        }
        return Sum(acc);
    }
}
