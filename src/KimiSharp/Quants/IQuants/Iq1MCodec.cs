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
    /// Lanes u = 8·(g+1) + (δ+1) from <see cref="IQuantGrids.Iq1MLanes"/>, so Σ (g + δ/8)·a = (Σ u·a − 9·Σ a)/8 with
    /// Σ a per 16 lanes from the Q8_K bsums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        ulong* lanes = IQuantGrids.Iq1MLanes;
        float* f16 = HalfTable;
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 56, y += Q8KBytes)
        {
            byte* qs = x, qh = x + 32;
            ushort* sc = (ushort*)(x + 48);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            short* bsums = (short*)(y + Q8KBsums);
            var sum = Vector256<int>.Zero;
            int correction = 0;
            for (int ib = 0; ib < 8; ib++, qs += 4, qh += 2, q8 += 32)
            {
                ulong i = Bmi2.X64.ParallelBitDeposit(*(uint*)qs, 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(*(ushort*)qh, 0x0F000F000F000F00UL);
                var u = Vector256.Create(lanes[(ushort)i], lanes[(ushort)(i >> 16)], lanes[(ushort)(i >> 32)], lanes[i >> 48]).AsByte();
                int word = sc[ib / 2] >> (6 * (ib % 2));
                short ls1 = (short)(2 * (word & 7) + 1), ls2 = (short)(2 * ((word >> 3) & 7) + 1);
                sum += DotScaled(u, Avx.LoadVector256(q8), Vector256.Create(Vector128.Create(ls1), Vector128.Create(ls2)));
                correction += ls1 * bsums[2 * ib] + ls2 * bsums[2 * ib + 1];
            }
            var total = sum - Vector256.CreateScalar(9 * correction);
            ushort dBits = ScaleBits(x);
            acc = Fma.MultiplyAdd(Vector256.Create(f16[dBits] * *(float*)y), Avx.ConvertToVector256Single(total), acc);
        }
        return Delta * Sum(acc);
    }

    /// <summary>
    /// 64 lanes per step: pdep-assembled indices into <see cref="IQuantGrids.Iq1MLanes"/> (lanes u = 8·(g+1) + (δ+1),
    /// δ from bit 3 of each qh nibble), 16 three-bit scales unpacked once per block, and the
    /// −9·Σ a correction from the bsums: 8·Σ (g + δ/8)·a·ls = Σ ls·Σ u·a − 9·Σ ls·S.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        ulong* lanes = IQuantGrids.Iq1MLanes;
        float* f16 = HalfTable;
        var wordOfScale = Vector256.Create((ushort)0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        var shiftOfScale = Vector256.Create((ushort)0, 3, 6, 9, 0, 3, 6, 9, 0, 3, 6, 9, 0, 3, 6, 9);
        var pick = Vector512.Create((ushort)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var four = Vector512.Create((ushort)4);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 56, y += Q8KBytes)
        {
            byte* qs = x, qh = x + 32;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            ulong scaleWords = *(ulong*)(x + 48);
            ushort dBits = (ushort)(((scaleWords >> 12) & 0xF) | ((scaleWords >> 24) & 0xF0) | ((scaleWords >> 36) & 0xF00) | ((scaleWords >> 48) & 0xF000));
            var words = Vector256.Create(scaleWords).AsUInt16();
            var ls = (Avx512BW.VL.ShiftRightLogicalVariable(Avx512BW.VL.PermuteVar16x16(words, wordOfScale), shiftOfScale) & Vector256.Create((ushort)7)) * 2 + Vector256<ushort>.One;
            var correction = Avx2.MultiplyAddAdjacent(Avx.LoadVector256((short*)(y + Q8KBsums)), ls.AsInt16());
            var scales = Vector512.Create(ls, ls);
            var sum = Vector512<int>.Zero;
            var sel = pick;
            for (int k = 0; k < 4; k++, qs += 8, qh += 4, q8 += 64, sel += four)
            {
                uint h = *(uint*)qh;
                // 12-bit table index per point: 8 bits from qs, then the qh nibble (3 index bits and the delta sign).
                ulong i0 = Bmi2.X64.ParallelBitDeposit(*(uint*)qs, 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(h & 0xFFFF, 0x0F000F000F000F00UL);
                ulong i1 = Bmi2.X64.ParallelBitDeposit(*(uint*)(qs + 4), 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(h >> 16, 0x0F000F000F000F00UL);
                var u = Vector512.Create(lanes[(ushort)i0], lanes[(ushort)(i0 >> 16)], lanes[(ushort)(i0 >> 32)], lanes[i0 >> 48],
                                         lanes[(ushort)i1], lanes[(ushort)(i1 >> 16)], lanes[(ushort)(i1 >> 32)], lanes[i1 >> 48]);
                sum += DotScaled(u.AsByte(), Vector512.Load(q8), Avx512BW.PermuteVar32x16(scales, sel).AsInt16());
            }
            var total = sum.GetLower() + sum.GetUpper() - correction * 9;
            acc = Fma.MultiplyAdd(Vector256.Create(f16[dBits] * *(float*)y), Avx.ConvertToVector256Single(total), acc);
        }
        return Delta * Sum(acc);
    }
}
