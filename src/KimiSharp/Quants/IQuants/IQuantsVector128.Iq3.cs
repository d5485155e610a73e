using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static KimiSharp.Quants.IQuants.IQuantMath;
using static KimiSharp.Quants.IQuants.IQuantsVector128Ops;

namespace KimiSharp.Quants.IQuants;

internal static unsafe partial class IQuantsVector128
{
    /// <summary>
    /// IQ3_XXS × Q8_K: 16 lanes = four 4-lane grid points with two 7-bit sign codes; per group of 32 × (2s + 1) in int
    /// lanes, × d_w·d_a per block and 1/4 at the end, as the scalar kernel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Iq3XxsDot(byte* x, byte* y, int n)
    {
        uint* grid = IQuantGrids.Iq3Xxs;
        ulong* masks = IQuantGrids.EvenSignMasks;
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 98, y += Q8KBytes)
        {
            byte* qs = x + 2, q8 = y + Q8KQs;
            uint* signsAndScales = (uint*)(x + 66);
            var blockSum = Vector128<int>.Zero;
            for (int ib = 0; ib < 8; ib++, qs += 8, q8 += 32)
            {
                uint aux = signsAndScales[ib];
                var w0 = Negate(Quad(grid[qs[0]], grid[qs[1]], grid[qs[2]], grid[qs[3]]), Pair(masks[aux & 127], masks[(aux >> 7) & 127]));
                var w1 = Negate(Quad(grid[qs[4]], grid[qs[5]], grid[qs[6]], grid[qs[7]]), Pair(masks[(aux >> 14) & 127], masks[(aux >> 21) & 127]));
                blockSum += (Dot16(w0, Load(q8)) + Dot16(w1, Load(q8 + 16))) * (int)(2 * (aux >> 28) + 1);
            }
            acc = Accumulate(acc, Half(x) * *(float*)y, blockSum);
        }
        return 0.25f * Vector128.Sum(acc);
    }

    /// <summary>IQ3_S × Q8_K: 9-bit grid indices (qs | one bit of qh), an explicit sign byte per 8 lanes, (2s + 1) per group of 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Iq3SDot(byte* x, byte* y, int n)
    {
        uint* grid = IQuantGrids.Iq3S;
        ulong* masks = IQuantGrids.ByteSignMasks;
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 110, y += Q8KBytes)
        {
            byte* qs = x + 2, qh = x + 66, signs = x + 74, scales = x + 106, q8 = y + Q8KQs;
            var blockSum = Vector128<int>.Zero;
            for (int ib = 0; ib < 8; ib++, qs += 8, signs += 4, q8 += 32)
            {
                int high = qh[ib];
                var w0 = Negate(
                    Quad(grid[qs[0] | ((high << 8) & 256)], grid[qs[1] | ((high << 7) & 256)], grid[qs[2] | ((high << 6) & 256)], grid[qs[3] | ((high << 5) & 256)]),
                    Pair(masks[signs[0]], masks[signs[1]]));
                var w1 = Negate(
                    Quad(grid[qs[4] | ((high << 4) & 256)], grid[qs[5] | ((high << 3) & 256)], grid[qs[6] | ((high << 2) & 256)], grid[qs[7] | ((high << 1) & 256)]),
                    Pair(masks[signs[2]], masks[signs[3]]));
                blockSum += (Dot16(w0, Load(q8)) + Dot16(w1, Load(q8 + 16))) * (2 * ((scales[ib / 2] >> (4 * (ib & 1))) & 15) + 1);
            }
            acc = Accumulate(acc, Half(x) * *(float*)y, blockSum);
        }
        return Vector128.Sum(acc);
    }
}
