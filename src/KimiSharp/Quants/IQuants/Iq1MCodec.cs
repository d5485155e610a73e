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
        if (Avx2.IsSupported) list.Add(new("Avx2", &DotAvx2));
        if (Avx512BW.IsSupported) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

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
    /// Folds the delta into an unsigned lane u = 8·(g+1) + (δ+1) = 8g + δ + 9 ∈ [0, 18], so
    /// Σ (g + δ/8)·a = (Σ u·a − 9·Σ a)/8 with Σ a per 16 lanes from the Q8_K bsums.
    /// </summary>
    private static ulong Lanes(ulong* grid, byte* qs, byte* qh, int l) =>
        (grid[Index(qs, qh, l)] << 3) + (NegativeDelta(qh, l) ? 0UL : 0x0202020202020202UL);

    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq1SPlusOne;
        var acc = Vector256<float>.Zero;
        float accScalar = 0;
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
                var w = Vector256.Create(Lanes(grid, qs, qh, 0), Lanes(grid, qs, qh, 1), Lanes(grid, qs, qh, 2), Lanes(grid, qs, qh, 3)).AsByte();
                int word = sc[ib / 2] >> (6 * (ib % 2));
                short ls1 = (short)(2 * (word & 7) + 1), ls2 = (short)(2 * ((word >> 3) & 7) + 1);
                sum += DotScaled(w, Avx.LoadVector256(q8), Vector256.Create(Vector128.Create(ls1), Vector128.Create(ls2)));
                correction += ls1 * bsums[2 * ib] + ls2 * bsums[2 * ib + 1];
            }
            float d = Half(ScaleBits(x)) * *(float*)y;
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sum), acc);
            accScalar += d * (9 * correction);
        }
        return Delta * (Sum(acc) - accScalar);
    }

    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq1SPlusOne;
        var acc = Vector512<float>.Zero;
        float accScalar = 0;
        for (int b = 0; b < n / 256; b++, x += 56, y += Q8KBytes)
        {
            byte* qs = x, qh = x + 32;
            ushort* sc = (ushort*)(x + 48);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            short* bsums = (short*)(y + Q8KBsums);
            var sum = Vector512<int>.Zero;
            int correction = 0;
            for (int ib = 0; ib < 8; ib += 2, qs += 8, qh += 4, q8 += 64)
            {
                var w = Vector512.Create(Lanes(grid, qs, qh, 0), Lanes(grid, qs, qh, 1), Lanes(grid, qs, qh, 2), Lanes(grid, qs, qh, 3),
                                         Lanes(grid, qs + 4, qh + 2, 0), Lanes(grid, qs + 4, qh + 2, 1), Lanes(grid, qs + 4, qh + 2, 2), Lanes(grid, qs + 4, qh + 2, 3)).AsByte();
                int word = sc[ib / 2];
                short l0 = (short)(2 * (word & 7) + 1), l1 = (short)(2 * ((word >> 3) & 7) + 1);
                short l2 = (short)(2 * ((word >> 6) & 7) + 1), l3 = (short)(2 * ((word >> 9) & 7) + 1);
                var s = Vector512.Create(Vector256.Create(Vector128.Create(l0), Vector128.Create(l1)), Vector256.Create(Vector128.Create(l2), Vector128.Create(l3)));
                sum += DotScaled(w, Vector512.Load(q8), s);
                correction += l0 * bsums[2 * ib] + l1 * bsums[2 * ib + 1] + l2 * bsums[2 * ib + 2] + l3 * bsums[2 * ib + 3];
            }
            float d = Half(ScaleBits(x)) * *(float*)y;
            acc = Avx512F.FusedMultiplyAdd(Vector512.Create(d), Avx512F.ConvertToVector512Single(sum), acc);
            accScalar += d * (9 * correction);
        }
        return Delta * (Sum(acc) - accScalar);
    }
}
