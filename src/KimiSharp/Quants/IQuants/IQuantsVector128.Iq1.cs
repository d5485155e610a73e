using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static KimiSharp.Quants.IQuants.IQuantMath;
using static KimiSharp.Quants.IQuants.IQuantsVector128Ops;

namespace KimiSharp.Quants.IQuants;

internal static unsafe partial class IQuantsVector128
{
    /// <summary>
    /// IQ1_S × Q8_K: grid dots (lanes in −1..1) × (2s + 1) in int lanes; the ±1/8 delta term from the activation block
    /// sums exactly as the scalar kernel, in a separate float sum added at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Iq1SDot(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq1S;
        var acc = Vector128<float>.Zero;
        float deltaSum = 0;
        for (int b = 0; b < n / 256; b++, x += 50, y += Q8KBytes)
        {
            byte* qs = x + 2, q8 = y + Q8KQs;
            ushort* qh = (ushort*)(x + 34);
            short* bsums = (short*)(y + Q8KBsums);
            var blockSum = Vector128<int>.Zero;
            int sumDelta = 0;
            for (int ib = 0; ib < 8; ib++, qs += 4, q8 += 32)
            {
                int high = qh[ib], ls = 2 * ((high >> 12) & 7) + 1;
                var w0 = Pair(grid[qs[0] | ((high << 8) & 0x700)], grid[qs[1] | ((high << 5) & 0x700)]);
                var w1 = Pair(grid[qs[2] | ((high << 2) & 0x700)], grid[qs[3] | ((high >> 1) & 0x700)]);
                blockSum += (Dot16(w0, Load(q8)) + Dot16(w1, Load(q8 + 16))) * ls;
                int groupSum = bsums[2 * ib] + bsums[2 * ib + 1];
                int negative = (high << 16) >> 31; // −1 when bit 15 (delta sign) is set, else 0; no branch on random bits
                sumDelta += ls * ((groupSum ^ negative) - negative);
            }
            float d = Half(x) * *(float*)y;
            acc = Accumulate(acc, d, blockSum);
            deltaSum += d * sumDelta;
        }
        return Vector128.Sum(acc) + Iq1SCodec.Delta * deltaSum;
    }

    /// <summary>
    /// IQ1_M × Q8_K: each weight lane as the integer 8·grid ± 1 (grid ± 1/8, scaled by 8), so grid and delta terms are
    /// one dot; × (2s + 1) per 16 lanes in int lanes, × d_w·d_a per block, × 1/8 at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Iq1MDot(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq1S;
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 56, y += Q8KBytes)
        {
            byte* qs = x, qh = x + 32, q8 = y + Q8KQs;
            ushort* sc = (ushort*)(x + 48);
            var blockSum = Vector128<int>.Zero;
            for (int ib = 0; ib < 8; ib++, qs += 4, qh += 2, q8 += 32)
            {
                int scaleBits = sc[ib / 2] >> (6 * (ib % 2));
                var w0 = Iq1MLanes(grid[qs[0] | ((qh[0] << 8) & 0x700)], grid[qs[1] | ((qh[0] << 4) & 0x700)], qh[0]);
                var w1 = Iq1MLanes(grid[qs[2] | ((qh[1] << 8) & 0x700)], grid[qs[3] | ((qh[1] << 4) & 0x700)], qh[1]);
                blockSum += Dot16(w0, Load(q8)) * (2 * (scaleBits & 7) + 1) + Dot16(w1, Load(q8 + 16)) * (2 * ((scaleBits >> 3) & 7) + 1);
            }
            // The f16 block scale from the top nibbles of the four scale words (as Iq1MCodec.ScaleBits, inlined here).
            uint d16 = (uint)(sc[0] >> 12) | ((uint)(sc[1] >> 8) & 0x00F0) | ((uint)(sc[2] >> 4) & 0x0F00) | ((uint)sc[3] & 0xF000);
            acc = Accumulate(acc, HalfTable[d16] * *(float*)y, blockSum);
        }
        return Iq1MCodec.Delta * Vector128.Sum(acc);
    }

    /// <summary>Two IQ1_M points as 8·grid + δ, δ = −1 where the point's delta bit (3 or 7 of <paramref name="high"/>) is set, else +1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Iq1MLanes(ulong first, ulong second, int high)
    {
        // 0x01 in every byte, or all bits set (−1) when the delta bit is set: branch-free, as the bits are random.
        const ulong Plus = 0x0101010101010101UL;
        ulong delta0 = Plus | (0UL - (ulong)((high >> 3) & 1)), delta1 = Plus | (0UL - (ulong)((high >> 7) & 1));
        var g = Pair(first, second);
        g += g;
        g += g;
        g += g;
        return g + Pair(delta0, delta1);
    }
}
