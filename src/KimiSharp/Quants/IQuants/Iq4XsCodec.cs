using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// IQ4_XS, 4.25 bpw. Block of 256 (136 bytes): d:f16, scales_h:u16, scales_l[4], qs[128]. Group ib of 32 has the
/// 6-bit scale ls = (nibble ib of scales_l) | (bits 2ib..2ib+1 of scales_h) &lt;&lt; 4 and packs its levels like IQ4_NL.
/// Value = d·(ls − 32)·levels[nibble].
/// </summary>
internal sealed unsafe class Iq4XsCodec : IQuantCodecBase
{
    public override GgmlType Type => GgmlType.IQ4_XS;

    private static int GroupScale(byte* block, int ib) =>
        ((block[4 + ib / 2] >> (4 * (ib % 2))) & 15) | (((*(ushort*)(block + 2) >> (2 * ib)) & 3) << 4);

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(block);
        var values = IQuantGrids.Iq4NlValues;
        byte* qs = block + 8;
        for (int ib = 0; ib < 8; ib++, y += 32, qs += 16)
        {
            float dl = d * (GroupScale(block, ib) - 32);
            for (int j = 0; j < 16; j++)
            {
                y[j] = dl * values[qs[j] & 15];
                y[j + 16] = dl * values[qs[j] >> 4];
            }
        }
    }

    public override bool CanQuantize => true;

    public override void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Span<byte> levels = stackalloc byte[256];
        for (int b = 0; b < src.Length / 256; b++)
            Iq4Quantizer.QuantizeXs(src.Slice(256 * b, 256), dst.Slice(136 * b, 136), levels);
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Vector128.IsHardwareAccelerated) list.Add(new("Vector128", &IQuantsVector128.Iq4XsDot));
        if (HasAvx2) list.Add(new("Avx2", &DotAvx2));
        if (HasAvx512) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotScalar(byte* x, byte* y, int n)
    {
        var values = IQuantGrids.Iq4NlValues;
        float sum = 0;
        for (int b = 0; b < n / 256; b++, x += 136, y += Q8KBytes)
        {
            float d4d8 = Half(x) * *(float*)y;
            byte* qs = x + 8;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            for (int ib = 0; ib < 8; ib++, qs += 16, q8 += 32)
            {
                float dl = d4d8 * (GroupScale(x, ib) - 32);
                int sum1 = 0, sum2 = 0;
                for (int j = 0; j < 16; j++)
                {
                    sum1 += q8[j] * values[qs[j] & 15];
                    sum2 += q8[j + 16] * values[qs[j] >> 4];
                }
                sum += dl * (sum1 + sum2);
            }
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        var table = Iq4NlCodec.LevelTable;
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 136, y += Q8KBytes)
        {
            byte* qs = x + 8;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            uint h = *(ushort*)(x + 2);
            uint l = *(uint*)(x + 4);
            var sum1 = Vector256<int>.Zero;
            var sum2 = Vector256<int>.Zero;
            for (int ib = 0; ib < 8; ib += 2, qs += 32, q8 += 64, h >>= 4, l >>= 8)
            {
                short ls1 = (short)((int)((l & 15) | ((h << 4) & 0x30)) - 32);
                short ls2 = (short)((int)(((l >> 4) & 15) | ((h << 2) & 0x30)) - 32);
                var p1 = Iq4NlCodec.SignedPairs(Iq4NlCodec.Levels(qs, table), Avx.LoadVector256(q8));
                var p2 = Iq4NlCodec.SignedPairs(Iq4NlCodec.Levels(qs + 16, table), Avx.LoadVector256(q8 + 32));
                sum1 += Avx2.MultiplyAddAdjacent(p1, Vector256.Create(ls1));
                sum2 += Avx2.MultiplyAddAdjacent(p2, Vector256.Create(ls2));
            }
            acc = Fma.MultiplyAdd(Vector256.Create(Half(x) * *(float*)y), Avx.ConvertToVector256Single(sum1 + sum2), acc);
        }
        return Sum(acc);
    }

    /// <summary>
    /// 128 lanes per step: the 64 packed bytes of four groups split into nibbles and regrouped per group
    /// (low nibbles = lanes 0..15, high = 16..31), levels by byte shuffle, |level|·(a·sign level) products.
    /// Floats are accumulated in ggml's order (<see cref="IQuantMath.AccumulateBlock"/>): bit-identical to its vec_dot.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        float* f16 = HalfTable;
        var table = Vector512.Create(Vector128.Create(IQuantGrids.Iq4NlValues));
        var magnitudes = Vector512.Abs(table);
        var signs = Vector512.LessThan(table, Vector512<sbyte>.Zero);
        var low4 = Vector512.Create((byte)15);
        var firstPair = Vector512.Create(0UL, 1, 8, 9, 2, 3, 10, 11);
        var secondPair = Vector512.Create(4UL, 5, 12, 13, 6, 7, 14, 15);
        // Scale placement for the four steps: i16 lanes 0..15 take group 2k's scale, lanes 16..31 group 2k+1's.
        var pick = Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var two = Vector512.Create((short)2);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 136, y += Q8KBytes)
        {
            byte* qs = x + 8;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            // The 8 six-bit scales, one per u16: the low nibble of scales_l and two bits of scales_h each, minus 32.
            ulong h = *(ushort*)(x + 2), l = *(uint*)(x + 4);
            ulong s03 = Bmi2.X64.ParallelBitDeposit(l & 0xFFFF, 0x000F000F000F000FUL) | Bmi2.X64.ParallelBitDeposit(h & 0xFF, 0x0030003000300030UL);
            ulong s47 = Bmi2.X64.ParallelBitDeposit(l >> 16, 0x000F000F000F000FUL) | Bmi2.X64.ParallelBitDeposit(h >> 8, 0x0030003000300030UL);
            var scales = (Vector128.Create(s03, s47).AsInt16() - Vector128.Create((short)32)).ToVector256Unsafe().ToVector512Unsafe();
            var sum = Vector512<int>.Zero;
            var sel = pick;
            for (int half = 0; half < 2; half++, qs += 64, q8 += 128)
            {
                var packed = Vector512.Load(qs);
                var lo = packed & low4;
                var hi = Avx512BW.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low4;
                var n1 = Avx512F.PermuteVar8x64x2(lo.AsUInt64(), firstPair, hi.AsUInt64()).AsByte();
                var n2 = Avx512F.PermuteVar8x64x2(lo.AsUInt64(), secondPair, hi.AsUInt64()).AsByte();
                sum += Step(n1, Vector512.Load(q8), signs, magnitudes, Avx512BW.PermuteVar32x16(scales, sel));
                sel += two;
                sum += Step(n2, Vector512.Load(q8 + 64), signs, magnitudes, Avx512BW.PermuteVar32x16(scales, sel));
                sel += two;
            }
            acc = AccumulateBlock(acc, f16[*(ushort*)x] * *(float*)y, sum);
        }
        return Sum(acc);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<int> Step(Vector512<byte> nibbles, Vector512<sbyte> a, Vector512<sbyte> signs, Vector512<sbyte> magnitudes, Vector512<short> scales)
        {
            var negative = Avx512BW.Shuffle(signs, nibbles.AsSByte());
            var u = Avx512BW.Shuffle(magnitudes, nibbles.AsSByte()).AsByte();
            return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Negate(a, negative)), scales);
        }
    }
}
