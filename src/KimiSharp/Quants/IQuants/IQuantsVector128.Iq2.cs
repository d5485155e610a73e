using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static KimiSharp.Quants.IQuants.IQuantMath;
using static KimiSharp.Quants.IQuants.IQuantsVector128Ops;

namespace KimiSharp.Quants.IQuants;

internal static unsafe partial class IQuantsVector128
{
    /// <summary>
    /// IQ2_XXS × Q8_K: per group of 32, four 8-lane grid points with their sign masks applied to the (unsigned) grid
    /// lanes, two 16-lane dots, × (2s + 1) in int lanes; × d_w·d_a per block and 1/8 at the end, as the scalar kernel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Iq2XxsDot(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq2Xxs, masks = IQuantGrids.EvenSignMasks;
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 66, y += Q8KBytes)
        {
            uint* q = (uint*)(x + 2);
            byte* q8 = y + Q8KQs;
            var blockSum = Vector128<int>.Zero;
            for (int ib = 0; ib < 8; ib++, q += 2, q8 += 32)
            {
                uint points = q[0], signs = q[1];
                var w0 = Negate(Pair(grid[points & 255], grid[(points >> 8) & 255]), Pair(masks[signs & 127], masks[(signs >> 7) & 127]));
                var w1 = Negate(Pair(grid[(points >> 16) & 255], grid[points >> 24]), Pair(masks[(signs >> 14) & 127], masks[(signs >> 21) & 127]));
                blockSum += (Dot16(w0, Load(q8)) + Dot16(w1, Load(q8 + 16))) * (int)(2 * (signs >> 28) + 1);
            }
            acc = Accumulate(acc, Half(x) * *(float*)y, blockSum);
        }
        return 0.125f * Vector128.Sum(acc);
    }

    /// <summary>IQ2_XS × Q8_K: 16-lane halves (two 9-bit grid indices with 7-bit sign codes) each × its (2s + 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Iq2XsDot(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq2Xs, masks = IQuantGrids.EvenSignMasks;
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 74, y += Q8KBytes)
        {
            ushort* q = (ushort*)(x + 2);
            byte* scales = x + 66, q8 = y + Q8KQs;
            var blockSum = Vector128<int>.Zero;
            for (int ib = 0; ib < 8; ib++, q += 4, q8 += 32)
            {
                var w0 = Negate(Pair(grid[q[0] & 511], grid[q[1] & 511]), Pair(masks[q[0] >> 9], masks[q[1] >> 9]));
                var w1 = Negate(Pair(grid[q[2] & 511], grid[q[3] & 511]), Pair(masks[q[2] >> 9], masks[q[3] >> 9]));
                blockSum += Dot16(w0, Load(q8)) * (2 * (scales[ib] & 15) + 1) + Dot16(w1, Load(q8 + 16)) * (2 * (scales[ib] >> 4) + 1);
            }
            acc = Accumulate(acc, Half(x) * *(float*)y, blockSum);
        }
        return 0.125f * Vector128.Sum(acc);
    }

    /// <summary>IQ2_S × Q8_K: 10-bit grid indices (qs | 2 bits of qh), an explicit sign byte per 8 lanes, (2s + 1) per 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Iq2SDot(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq2S, masks = IQuantGrids.ByteSignMasks;
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 82, y += Q8KBytes)
        {
            byte* qs = x + 2, signs = x + 34, qh = x + 66, scales = x + 74, q8 = y + Q8KQs;
            var blockSum = Vector128<int>.Zero;
            for (int ib = 0; ib < 8; ib++, qs += 4, signs += 4, q8 += 32)
            {
                int high = qh[ib];
                var w0 = Negate(Pair(grid[qs[0] | ((high << 8) & 0x300)], grid[qs[1] | ((high << 6) & 0x300)]), Pair(masks[signs[0]], masks[signs[1]]));
                var w1 = Negate(Pair(grid[qs[2] | ((high << 4) & 0x300)], grid[qs[3] | ((high << 2) & 0x300)]), Pair(masks[signs[2]], masks[signs[3]]));
                blockSum += Dot16(w0, Load(q8)) * (2 * (scales[ib] & 15) + 1) + Dot16(w1, Load(q8 + 16)) * (2 * (scales[ib] >> 4) + 1);
            }
            acc = Accumulate(acc, Half(x) * *(float*)y, blockSum);
        }
        return 0.125f * Vector128.Sum(acc);
    }
}
