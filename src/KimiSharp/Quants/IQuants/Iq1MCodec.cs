using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// IQ1_M, 1.75 bpw. Block of 256 (56 bytes): qs[32] (low 8 bits of 11-bit grid indices), qh[16] (per 16 lanes one
/// byte: bits 0..2 / 4..6 = index bits 8..10 of the two points, bit 3 / 7 = sign of their delta), scales[8] read as
/// four u16: 3-bit scales s (bits 0..11, four per word, one per 16 lanes) and, in the top nibbles of the four words,
/// the f16 block scale d. Value = d·(2s + 1)·(grid lane ± 1/8).
/// </summary>
internal sealed unsafe class Iq1MCodec : IQuantCodecBase
{
    public const float Delta = 0.125f;

    public override GgmlType Type => GgmlType.IQ1_M;

    /// <summary>The f16 block scale assembled from the top nibbles of the four scale words.</summary>
    public static ushort ScaleBits(byte* block)
    {
        ushort* sc = (ushort*)(block + 48);
        return (ushort)((sc[0] >> 12) | ((sc[1] >> 8) & 0x00F0) | ((sc[2] >> 4) & 0x0F00) | (sc[3] & 0xF000));
    }

    private static int Index(byte* qs, byte* qh, int l) => qs[l] | ((qh[l / 2] << (8 - 4 * (l & 1))) & 0x700);

    private static bool NegativeDelta(byte* qh, int l) => (qh[l / 2] & (0x08 << (4 * (l & 1)))) != 0;

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(ScaleBits(block));
        byte* qs = block, qh = block + 32;
        ushort* sc = (ushort*)(block + 48);
        for (int ib = 0; ib < 8; ib++, qs += 4, qh += 2)
        {
            float dl1 = d * (2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1);
            float dl2 = d * (2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1);
            for (int l = 0; l < 4; l++, y += 8)
            {
                sbyte* grid = (sbyte*)(IQuantGrids.Iq1S + Index(qs, qh, l));
                float delta = NegativeDelta(qh, l) ? -Delta : Delta;
                float dl = l < 2 ? dl1 : dl2;
                for (int j = 0; j < 8; j++)
                    y[j] = dl * (grid[j] + delta);
            }
        }
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Vector128.IsHardwareAccelerated) list.Add(new("Vector128", &IQuantsVector128.Iq1MDot));
        if (HasAvx2) list.Add(new("Avx2", &DotAvx2));
        if (HasAvx512) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotScalar(byte* x, byte* y, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, x += 56, y += Q8KBytes)
        {
            byte* qs = x, qh = x + 32;
            ushort* sc = (ushort*)(x + 48);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            int sumGrid = 0, sumDelta = 0;
            for (int ib = 0; ib < 8; ib++, qs += 4, qh += 2)
            {
                int ls1 = 2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1;
                int ls2 = 2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1;
                for (int l = 0; l < 4; l++, q8 += 8)
                {
                    sbyte* grid = (sbyte*)(IQuantGrids.Iq1S + Index(qs, qh, l));
                    int gridSum = 0, plainSum = 0;
                    for (int j = 0; j < 8; j++)
                    {
                        gridSum += q8[j] * grid[j];
                        plainSum += q8[j];
                    }
                    int ls = l < 2 ? ls1 : ls2;
                    sumGrid += ls * gridSum;
                    sumDelta += ls * (NegativeDelta(qh, l) ? -plainSum : plainSum);
                }
            }
            sum += Half(ScaleBits(x)) * *(float*)y * (sumGrid + Delta * sumDelta);
        }
        return sum;
    }

    /// <summary>
    /// ggml's order (its AVX2 kernel, which its AVX-512 build runs): per block two 8-lane FMAs, d·Σ (2s+1)·grid·a and
    /// d·Σ (2s+1)·(±1)·a (lane k = elements 4k..4k+3 of every group), joined as Δ·hsum(second) + hsum(first) in one
    /// fused step. Grid lanes are stored plus one (unsigned 0..2): Σ g·a = Σ (g+1)·a − Σ a per pair of lanes, exactly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq1SPlusOne;
        float* f16 = HalfTable;
        var ones = Vector256.Create((byte)1);
        // i32 lane j covers 4 elements of point j/2, whose delta sign is bit 3 + 4·(j/2) of the group's qh word.
        var deltaShift = Vector256.Create(28u, 28, 24, 24, 20, 20, 16, 16);
        var accGrid = Vector256<float>.Zero;
        var accDelta = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 56, y += Q8KBytes)
        {
            byte* qs = x, qh = x + 32;
            ushort* sc = (ushort*)(x + 48);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var sumGrid = Vector256<int>.Zero;
            var sumDelta = Vector256<int>.Zero;
            for (int ib = 0; ib < 8; ib++, qs += 4, qh += 2, q8 += 32)
            {
                uint h = *(ushort*)qh;
                ulong i = Bmi2.X64.ParallelBitDeposit(*(uint*)qs, 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(h & 0x7777, 0x0F000F000F000F00UL);
                var w = Vector256.Create(grid[(ushort)i], grid[(ushort)(i >> 16)], grid[(ushort)(i >> 32)], grid[i >> 48]).AsByte();
                int word = sc[ib / 2] >> (6 * (ib % 2));
                var scale = Vector256.Create(Vector128.Create((short)(2 * (word & 7) + 1)), Vector128.Create((short)(2 * ((word >> 3) & 7) + 1)));
                var negative = Avx2.ShiftRightArithmetic(Avx2.ShiftLeftLogicalVariable(Vector256.Create(h), deltaShift).AsInt32(), 31);
                var a = Avx.LoadVector256(q8);
                var sums = Avx2.MultiplyAddAdjacent(ones, a);
                sumGrid += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, a) - sums, scale);
                sumDelta += (Avx2.MultiplyAddAdjacent(sums, scale) ^ negative) - negative;
            }
            var d = Vector256.Create(*(float*)y * f16[ScaleBits(x)]);
            accGrid = Fma.MultiplyAdd(d, Avx.ConvertToVector256Single(sumGrid), accGrid);
            accDelta = Fma.MultiplyAdd(d, Avx.ConvertToVector256Single(sumDelta), accDelta);
        }
        return MathF.FusedMultiplyAdd(Sum(accDelta), Delta, Sum(accGrid));
    }

    /// <summary>
    /// 64 lanes (two groups) per step: pdep-assembled indices, 16 three-bit scales unpacked once per block, delta signs
    /// (bit 3 of each qh nibble) shifted into the sign bit of their two i32 lanes; float order as <see cref="DotAvx2"/> (ggml's), the
    /// two groups' halves folded by <see cref="AccumulateBlock"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq1MPlusOne;
        float* f16 = HalfTable;
        var wordOfScale = Vector256.Create((ushort)0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        var shiftOfScale = Vector256.Create((ushort)0, 3, 6, 9, 0, 3, 6, 9, 0, 3, 6, 9, 0, 3, 6, 9);
        var pick = Vector512.Create((ushort)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        // i32 lane j covers 4 elements of point j/2, whose delta sign is bit 3 + 4·(j/2) of the step's qh dword.
        var deltaShift = Vector512.Create(28u, 28, 24, 24, 20, 20, 16, 16, 12, 12, 8, 8, 4, 4, 0, 0);
        var four = Vector512.Create((ushort)4);
        var ones = Vector512.Create((byte)1);
        var accGrid = Vector256<float>.Zero;
        var accDelta = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 56, y += Q8KBytes)
        {
            byte* qs = x, qh = x + 32;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            ulong scaleWords = *(ulong*)(x + 48);
            ushort dBits = (ushort)(((scaleWords >> 12) & 0xF) | ((scaleWords >> 24) & 0xF0) | ((scaleWords >> 36) & 0xF00) | ((scaleWords >> 48) & 0xF000));
            var words = Vector256.Create(scaleWords).AsUInt16();
            var ls = (Avx512BW.VL.ShiftRightLogicalVariable(Avx512BW.VL.PermuteVar16x16(words, wordOfScale), shiftOfScale) & Vector256.Create((ushort)7)) * 2 + Vector256<ushort>.One;
            var scales = Vector512.Create(ls, ls);
            // Σ ls·(g+1)·a, Σ ls·a, and Σ ls·a where the delta is negative, per lane: then grid = first − second and
            // delta = second − 2·third, exactly.
            var sumPlusOne = Vector512<int>.Zero;
            var sumAll = Vector512<int>.Zero;
            var sumNegative = Vector512<int>.Zero;
            var sel = pick;
            for (int k = 0; k < 4; k++, qs += 8, qh += 4, q8 += 64, sel += four)
            {
                uint h = *(uint*)qh;
                // 12-bit code per point: 8 bits from qs, its qh nibble above (3 index bits and the delta sign, ignored by the table).
                ulong i0 = Bmi2.X64.ParallelBitDeposit(*(uint*)qs, 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(h, 0x0F000F000F000F00UL);
                ulong i1 = Bmi2.X64.ParallelBitDeposit(*(uint*)(qs + 4), 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(h >> 16, 0x0F000F000F000F00UL);
                var w = Vector512.Create(grid[(ushort)i0], grid[(ushort)(i0 >> 16)], grid[(ushort)(i0 >> 32)], grid[i0 >> 48],
                                         grid[(ushort)i1], grid[(ushort)(i1 >> 16)], grid[(ushort)(i1 >> 32)], grid[i1 >> 48]).AsByte();
                var scale = Avx512BW.PermuteVar32x16(scales, sel);
                var negative = Avx512F.ShiftRightArithmetic(Avx512F.ShiftLeftLogicalVariable(Vector512.Create(h), deltaShift).AsInt32(), 31);
                var a = Vector512.Load(q8);
                var scaled = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(ones, a), scale.AsInt16());
                sumPlusOne += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a), scale.AsInt16());
                sumAll += scaled;
                sumNegative += scaled & negative;
            }
            float d = *(float*)y * f16[dBits];
            accGrid = AccumulateBlock(accGrid, d, sumPlusOne - sumAll);
            accDelta = AccumulateBlock(accDelta, d, sumAll - (sumNegative << 1));
        }
        return MathF.FusedMultiplyAdd(Sum(accDelta), Delta, Sum(accGrid));
    }
}
