using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// IQ1_S, 1.5625 bpw. Block of 256 (50 bytes): d:f16, qs[32] (low 8 bits of 11-bit grid indices, 8 lanes each),
/// qh[8]:u16 per group of 32 (bits 3l..3l+2: index bits 8..10 of point l; bits 12..14: scale s; bit 15: sign of delta).
/// Value = d·(2s + 1)·(grid lane ± 1/8), lanes in {−1, 0, 1}.
/// </summary>
internal sealed unsafe class Iq1SCodec : IQuantCodecBase
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
        if (Avx2.IsSupported) list.Add(new("Avx2", &DotAvx2));
        if (Avx512BW.IsSupported) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    /// <summary>Reference: Σ (2s+1)·Σ grid·a and Σ (2s+1)·±1·Σ a (from bsums), combined as d·(first + second/8).</summary>
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
    /// Uses grid lanes plus one (unsigned 0..2) so u8×s8 products work directly: Σ g·a = Σ (g+1)·a − Σ a,
    /// with Σ a per group from the Q8_K bsums.
    /// </summary>
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq1SPlusOne;
        var acc = Vector256<float>.Zero;
        float accScalar = 0;
        for (int b = 0; b < n / 256; b++, x += 50, y += Q8KBytes)
        {
            byte* qs = x + 2;
            ushort* qh = (ushort*)(x + 34);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            short* bsums = (short*)(y + Q8KBsums);
            var sum = Vector256<int>.Zero;
            int correction = 0, sumDelta = 0;
            for (int ib = 0; ib < 8; ib++, qs += 4, q8 += 32)
            {
                int h = qh[ib];
                var w = Vector256.Create(grid[qs[0] | ((h << 8) & 0x700)], grid[qs[1] | ((h << 5) & 0x700)],
                                         grid[qs[2] | ((h << 2) & 0x700)], grid[qs[3] | ((h >> 1) & 0x700)]).AsByte();
                int ls = 2 * ((h >> 12) & 7) + 1;
                sum += DotScaled(w, Avx.LoadVector256(q8), Vector256.Create((short)ls));
                int groupA = bsums[2 * ib] + bsums[2 * ib + 1];
                correction += ls * groupA;
                sumDelta += (h & 0x8000) != 0 ? -ls * groupA : ls * groupA;
            }
            float d = Half(x) * *(float*)y;
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sum), acc);
            accScalar += d * (Delta * sumDelta - correction);
        }
        return Sum(acc) + accScalar;
    }

    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq1SPlusOne;
        var acc = Vector512<float>.Zero;
        float accScalar = 0;
        for (int b = 0; b < n / 256; b++, x += 50, y += Q8KBytes)
        {
            byte* qs = x + 2;
            ushort* qh = (ushort*)(x + 34);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            short* bsums = (short*)(y + Q8KBsums);
            var sum = Vector512<int>.Zero;
            int correction = 0, sumDelta = 0;
            for (int ib = 0; ib < 8; ib += 2, qs += 8, q8 += 64)
            {
                int h0 = qh[ib], h1 = qh[ib + 1];
                var w = Vector512.Create(grid[qs[0] | ((h0 << 8) & 0x700)], grid[qs[1] | ((h0 << 5) & 0x700)],
                                         grid[qs[2] | ((h0 << 2) & 0x700)], grid[qs[3] | ((h0 >> 1) & 0x700)],
                                         grid[qs[4] | ((h1 << 8) & 0x700)], grid[qs[5] | ((h1 << 5) & 0x700)],
                                         grid[qs[6] | ((h1 << 2) & 0x700)], grid[qs[7] | ((h1 >> 1) & 0x700)]).AsByte();
                int ls0 = 2 * ((h0 >> 12) & 7) + 1, ls1 = 2 * ((h1 >> 12) & 7) + 1;
                var s = Vector512.Create(Vector256.Create((short)ls0), Vector256.Create((short)ls1));
                sum += DotScaled(w, Vector512.Load(q8), s);
                int a0 = bsums[2 * ib] + bsums[2 * ib + 1], a1 = bsums[2 * ib + 2] + bsums[2 * ib + 3];
                correction += ls0 * a0 + ls1 * a1;
                sumDelta += ((h0 & 0x8000) != 0 ? -ls0 * a0 : ls0 * a0) + ((h1 & 0x8000) != 0 ? -ls1 * a1 : ls1 * a1);
            }
            float d = Half(x) * *(float*)y;
            acc = Avx512F.FusedMultiplyAdd(Vector512.Create(d), Avx512F.ConvertToVector512Single(sum), acc);
            accScalar += d * (Delta * sumDelta - correction);
        }
        return Sum(acc) + accScalar;
    }
}
