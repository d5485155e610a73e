using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// IQ2_XXS, 2.0625 bpw. Block of 256 (66 bytes): d:f16, then 8 groups of 32 as two u32 each:
/// word 0 = four 8-bit grid indices (8 lanes each), word 1 = four 7-bit sign codes (bits 0..27) and a 4-bit
/// scale s (bits 28..31). Value = d·(0.5 + s)·0.25 · grid lane · sign.
/// </summary>
internal sealed unsafe partial class Iq2XxsCodec : IQuantCodecBase
{
    public override GgmlType Type => GgmlType.IQ2_XXS;

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(block);
        uint* q = (uint*)(block + 2);
        for (int ib = 0; ib < 8; ib++, q += 2)
        {
            uint grids = q[0], signsAndScale = q[1];
            float db = d * (0.5f + (signsAndScale >> 28)) * 0.25f;
            for (int l = 0; l < 4; l++, y += 8)
            {
                byte* grid = (byte*)(IQuantGrids.Iq2Xxs + ((grids >> (8 * l)) & 255));
                byte signs = IQuantGrids.EvenSigns[(signsAndScale >> (7 * l)) & 127];
                for (int j = 0; j < 8; j++)
                    y[j] = db * grid[j] * ((signs & (1 << j)) != 0 ? -1f : 1f);
            }
        }
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Vector128.IsHardwareAccelerated) list.Add(new("Vector128", &IQuantsVector128.Iq2XxsDot));
        if (HasAvx2) list.Add(new("Avx2", &DotAvx2));
        if (HasAvx512Vbmi) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    /// <summary>Reference: integer sums per group of 32 times (2s + 1), then d_w·d_a per block, × 1/8 at the end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotScalar(byte* x, byte* y, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, x += 66, y += Q8KBytes)
        {
            float d = Half(x) * *(float*)y;
            uint* q = (uint*)(x + 2);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            int blockSum = 0;
            for (int ib = 0; ib < 8; ib++, q += 2)
            {
                int groupSum = 0;
                for (int l = 0; l < 4; l++, q8 += 8)
                {
                    byte* grid = (byte*)(IQuantGrids.Iq2Xxs + ((q[0] >> (8 * l)) & 255));
                    byte signs = IQuantGrids.EvenSigns[(q[1] >> (7 * l)) & 127];
                    for (int j = 0; j < 8; j++)
                        groupSum += grid[j] * q8[j] * ((signs & (1 << j)) != 0 ? -1 : 1);
                }
                blockSum += groupSum * (int)(2 * (q[1] >> 28) + 1);
            }
            sum += d * blockSum;
        }
        return 0.125f * sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq2Xxs;
        ulong* sign = IQuantGrids.EvenSignUnits;
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 66, y += Q8KBytes)
        {
            uint* q = (uint*)(x + 2);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var sum1 = Vector256<int>.Zero;
            var sum2 = Vector256<int>.Zero;
            for (int ib = 0; ib < 8; ib += 2, q += 4, q8 += 64)
            {
                uint g1 = q[0], s1 = q[1], g2 = q[2], s2 = q[3];
                var w1 = Vector256.Create(grid[g1 & 255], grid[(g1 >> 8) & 255], grid[(g1 >> 16) & 255], grid[g1 >> 24]).AsByte();
                var w2 = Vector256.Create(grid[g2 & 255], grid[(g2 >> 8) & 255], grid[(g2 >> 16) & 255], grid[g2 >> 24]).AsByte();
                var m1 = Vector256.Create(sign[s1 & 127], sign[(s1 >> 7) & 127], sign[(s1 >> 14) & 127], sign[(s1 >> 21) & 127]).AsSByte();
                var m2 = Vector256.Create(sign[s2 & 127], sign[(s2 >> 7) & 127], sign[(s2 >> 14) & 127], sign[(s2 >> 21) & 127]).AsSByte();
                var a1 = Avx2.Sign(Avx.LoadVector256(q8), m1);
                var a2 = Avx2.Sign(Avx.LoadVector256(q8 + 32), m2);
                sum1 += DotScaled(w1, a1, Vector256.Create((short)(2 * (s1 >> 28) + 1)));
                sum2 += DotScaled(w2, a2, Vector256.Create((short)(2 * (s2 >> 28) + 1)));
            }
            float d = Half(x) * *(float*)y;
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sum1 + sum2), acc);
        }
        return 0.125f * Sum(acc);
    }

    /// <summary>
    /// 64 lanes per step. Sign codes are expanded in vector registers: multishift pulls the four 7-bit codes of
    /// each group out of its sign word, a 128-entry byte permute adds the parity bit, and each sign byte is spread
    /// to its 8 lanes and tested bit by bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq2Xxs;
        float* f16 = HalfTable;
        var signsLow = Vector512.Load(IQuantGrids.EvenSigns);
        var signsHigh = Vector512.Load(IQuantGrids.EvenSigns + 64);
        var codeOffsets = Vector512.Create(0x0000000035_2E_27_20UL).AsByte();          // bits 32, 39, 46, 53: the four codes
        var low7 = Vector512.Create((byte)127);
        var spread = Vector512.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
                                      8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11);
        var bits = Vector512.Create(0x8040201008040201UL).AsByte();
        // Pair (scale of group 2k, scale of group 2k+1) placement: lanes 0..7 take word 2k+1, lanes 8..15 word 2k+3.
        var pick = Vector512.Create(1u, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3);
        var laneOfStep = Vector512.Create(0UL, 1, 0, 1, 0, 1, 0, 1);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 66, y += Q8KBytes)
        {
            uint* q = (uint*)(x + 2);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var words = Vector512.Load(q);
            var scales = ((words >> 28) * 2 + Vector512<uint>.One) * 0x10001u;
            var codes = Avx512Vbmi.MultiShift(codeOffsets, words.AsUInt64()) & low7;
            var signBytes = Avx512Vbmi.PermuteVar64x8x2(signsLow, codes, signsHigh);
            var sum = Vector512<int>.Zero;
            var sel = pick;
            var lane = laneOfStep;
            for (int k = 0; k < 4; k++, q += 4, q8 += 64, sel += Vector512.Create(4u), lane += Vector512.Create(2UL))
            {
                uint g1 = q[0], g2 = q[2];
                var w = Vector512.Create(
                    grid[g1 & 255], grid[(g1 >> 8) & 255], grid[(g1 >> 16) & 255], grid[g1 >> 24],
                    grid[g2 & 255], grid[(g2 >> 8) & 255], grid[(g2 >> 16) & 255], grid[g2 >> 24]).AsByte();
                var stepSigns = Avx512F.PermuteVar8x64(signBytes.AsUInt64(), lane).AsByte();
                var m = Vector512.Equals(Avx512BW.Shuffle(stepSigns, spread) & bits, bits).AsSByte();
                var a = Negate(Vector512.Load(q8), m);
                sum += DotScaled(w, a, Avx512F.PermuteVar16x32(scales, sel).AsInt16());
            }
            acc = AccumulateBlock(acc, f16[*(ushort*)x] * *(float*)y, sum);
        }
        return 0.125f * Sum(acc);
    }
}
