using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// IQ1_S, 1.5625 bpw. Block of 256 (50 bytes): d:f16, qs[32] (low 8 bits of 11-bit grid indices, 8 lanes each),
/// qh[8]:u16 per group of 32 (bits 3l..3l+2: index bits 8..10 of point l; bits 12..14: scale s; bit 15: sign of delta).
/// Value = d·(2s + 1)·(grid lane ± 1/8), lanes in {−1, 0, 1}.
/// </summary>
internal sealed unsafe partial class Iq1SCodec : IQuantCodecBase
{
    public const float Delta = 0.125f;

    public override GgmlType Type => GgmlType.IQ1_S;

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(block);
        byte* qs = block + 2;
        ushort* qh = (ushort*)(block + 34);
        for (int ib = 0; ib < 8; ib++, qs += 4)
        {
            float dl = d * (2 * ((qh[ib] >> 12) & 7) + 1);
            float delta = (qh[ib] & 0x8000) != 0 ? -Delta : Delta;
            for (int l = 0; l < 4; l++, y += 8)
            {
                sbyte* grid = (sbyte*)(IQuantGrids.Iq1S + (qs[l] | (((qh[ib] >> (3 * l)) & 7) << 8)));
                for (int j = 0; j < 8; j++)
                    y[j] = dl * (grid[j] + delta);
            }
        }
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Vector128.IsHardwareAccelerated) list.Add(new("Vector128", &IQuantsVector128.Iq1SDot));
        if (HasAvx2) list.Add(new("Avx2", &DotAvx2));
        if (HasAvx512) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    /// <summary>Reference: Σ (2s+1)·Σ grid·a and Σ (2s+1)·±1·Σ a (from bsums), combined as d·(first + second/8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotScalar(byte* x, byte* y, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, x += 50, y += Q8KBytes)
        {
            byte* qs = x + 2;
            ushort* qh = (ushort*)(x + 34);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            short* bsums = (short*)(y + Q8KBsums);
            int sumGrid = 0, sumDelta = 0;
            for (int ib = 0; ib < 8; ib++, qs += 4)
            {
                int ls = 2 * ((qh[ib] >> 12) & 7) + 1;
                int delta = (qh[ib] & 0x8000) != 0 ? -1 : 1;
                int groupSum = 0;
                for (int l = 0; l < 4; l++, q8 += 8)
                {
                    sbyte* grid = (sbyte*)(IQuantGrids.Iq1S + (qs[l] | (((qh[ib] >> (3 * l)) & 7) << 8)));
                    for (int j = 0; j < 8; j++)
                        groupSum += q8[j] * grid[j];
                }
                sumGrid += ls * groupSum;
                sumDelta += ls * delta * (bsums[2 * ib] + bsums[2 * ib + 1]);
            }
            sum += Half(x) * *(float*)y * (sumGrid + Delta * sumDelta);
        }
        return sum;
    }

    /// <summary>
    /// ggml's order (its AVX2 kernel, which its AVX-512 build runs): per block one 8-lane FMA of d·Σ (2s+1)·grid·a
    /// (lane k = elements 4k..4k+3 of every group) and one scalar FMA of d·Σ (2s+1)·±1·Σ a (from the bsums), the two
    /// joined as hsum + Δ·scalar at the end. Grid lanes are stored plus one (unsigned 0..2) so u8×s8 products work
    /// directly; Σ g·a = Σ (g+1)·a − Σ a per pair of lanes, exactly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq1SPlusOne;
        float* f16 = HalfTable;
        var ones = Vector256.Create((byte)1);
        var acc = Vector256<float>.Zero;
        float accDelta = 0;
        for (int b = 0; b < n / 256; b++, x += 50, y += Q8KBytes)
        {
            byte* qs = x + 2;
            ushort* qh = (ushort*)(x + 34);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var sum = Vector256<int>.Zero;
            for (int ib = 0; ib < 8; ib++, qs += 4, q8 += 32)
            {
                int hb = qh[ib];
                ulong i = Bmi2.X64.ParallelBitDeposit(*(uint*)qs, 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit((uint)hb, 0x0700070007000700UL);
                var w = Vector256.Create(grid[(ushort)i], grid[(ushort)(i >> 16)], grid[(ushort)(i >> 32)], grid[i >> 48]).AsByte();
                var a = Avx.LoadVector256(q8);
                var pairs = Avx2.MultiplyAddAdjacent(w, a) - Avx2.MultiplyAddAdjacent(ones, a);
                sum += Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)(2 * ((hb >> 12) & 7) + 1)));
            }
            float d = f16[*(ushort*)x] * *(float*)y;
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sum), acc);
            accDelta = MathF.FusedMultiplyAdd(DeltaSum(x, y), d, accDelta);
        }
        return Sum(acc) + Delta * accDelta;
    }

    /// <summary>Σ over the 8 groups of (2s+1)·(±1)·Σ a, in exact integers from the Q8_K bsums (16 lanes each).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DeltaSum(byte* x, byte* y)
    {
        var h = Vector128.Load((short*)(x + 34));
        var c = (((h >>> 12) & Vector128.Create((short)7)) * 2 + Vector128<short>.One) * (((h >> 15) << 1) + Vector128<short>.One);
        var products = Avx2.MultiplyAddAdjacent(Avx.LoadVector256((short*)(y + Q8KBsums)), Vector256.Create(Sse2.UnpackLow(c, c), Sse2.UnpackHigh(c, c)));
        return Vector256.Sum(products);
    }

    /// <summary>
    /// 64 lanes (two groups) per step, grid indices assembled with pdep (four 11-bit indices per 64-bit word); the
    /// float order is <see cref="DotAvx2"/>'s (ggml's), the two groups' halves folded by <see cref="AccumulateBlock"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq1SPlusOne;
        float* f16 = HalfTable;
        // Scale placement for steps 0..3: i16 lanes 0..15 take group 2k's scale, lanes 16..31 group 2k+1's.
        var pick = Vector512.Create((ushort)0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var two = Vector512.Create((ushort)2);
        var ones = Vector512.Create((byte)1);
        var acc = Vector256<float>.Zero;
        float accDelta = 0;
        for (int b = 0; b < n / 256; b++, x += 50, y += Q8KBytes)
        {
            byte* qs = x + 2;
            ushort* qh = (ushort*)(x + 34);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var h = Vector128.Load(qh).AsInt16();
            var ls = ((h >>> 12) & Vector128.Create((short)7)) * 2 + Vector128<short>.One;
            var ls2 = Vector256.Create(ls, ls);
            var scales = SimdOps.Join(ls2, ls2).AsUInt16(); // Join: Vector512.Create(lo, hi) would go through a stack slot
            var sum = Vector512<int>.Zero;
            var sel = pick;
            for (int k = 0; k < 4; k++, qs += 8, q8 += 64, sel += two)
            {
                ulong i0 = Bmi2.X64.ParallelBitDeposit(*(uint*)qs, 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(qh[2 * k], 0x0700070007000700UL);
                ulong i1 = Bmi2.X64.ParallelBitDeposit(*(uint*)(qs + 4), 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(qh[2 * k + 1], 0x0700070007000700UL);
                var w = Vector512.Create(grid[(ushort)i0], grid[(ushort)(i0 >> 16)], grid[(ushort)(i0 >> 32)], grid[i0 >> 48],
                                         grid[(ushort)i1], grid[(ushort)(i1 >> 16)], grid[(ushort)(i1 >> 32)], grid[i1 >> 48]).AsByte();
                var a = Vector512.Load(q8);
                var pairs = Avx512BW.MultiplyAddAdjacent(w, a) - Avx512BW.MultiplyAddAdjacent(ones, a);
                sum += Avx512BW.MultiplyAddAdjacent(pairs, Avx512BW.PermuteVar32x16(scales, sel).AsInt16());
            }
            float d = f16[*(ushort*)x] * *(float*)y;
            acc = AccumulateBlock(acc, d, sum);
            accDelta = MathF.FusedMultiplyAdd(DeltaSum(x, y), d, accDelta);
        }
        return Sum(acc) + Delta * accDelta;
    }
}
