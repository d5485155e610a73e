using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static KimiSharp.Quants.IQuants.IQuantMath;
using static KimiSharp.Quants.IQuants.IQuantsVector128Ops;

namespace KimiSharp.Quants.IQuants;

/// <summary>Portable Vector128 dot kernels of the i-quant and ternary types (one file per family).</summary>
internal static unsafe partial class IQuantsVector128
{
    /// <summary>
    /// IQ4_NL × Q8_0: nibbles become levels with one 16-entry byte table lookup per 16 lanes; per block 4 int lanes,
    /// then d_w·d_a·(float)lanes into 4 float lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Iq4NlDot(byte* x, byte* y, int n)
    {
        var table = Vector128.Create(IQuantGrids.Iq4NlValues);
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < n / 32; b++, x += 18, y += Q80Bytes)
        {
            var (low, high) = Iq4Levels(x + 2, table);
            var sum = Dot16(low, Load(y + 2)) + Dot16(high, Load(y + 18));
            acc = Accumulate(acc, Half(y) * Half(x), sum);
        }
        return Vector128.Sum(acc);
    }

    /// <summary>
    /// IQ4_XS × Q8_K: each group of 32 as IQ4_NL, times its integer scale (ls − 32); the 8 groups are summed in int
    /// lanes (|Σ| ≤ 8·32·127·128·32 &lt; 2³¹) before one float step per block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Iq4XsDot(byte* x, byte* y, int n)
    {
        var table = Vector128.Create(IQuantGrids.Iq4NlValues);
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 136, y += Q8KBytes)
        {
            byte* qs = x + 8, q8 = y + Q8KQs;
            uint scalesHigh = *(ushort*)(x + 2);
            var blockSum = Vector128<int>.Zero;
            for (int ib = 0; ib < 8; ib++, qs += 16, q8 += 32)
            {
                int ls = ((x[4 + ib / 2] >> (4 * (ib % 2))) & 15) | (int)(((scalesHigh >> (2 * ib)) & 3) << 4);
                var (low, high) = Iq4Levels(qs, table);
                blockSum += (Dot16(low, Load(q8)) + Dot16(high, Load(q8 + 16))) * (ls - 32);
            }
            acc = Accumulate(acc, Half(x) * *(float*)y, blockSum);
        }
        return Vector128.Sum(acc);
    }

    /// <summary>The levels of 16 packed bytes: low nibbles (lanes 0..15) and high nibbles (lanes 16..31).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<sbyte> Low, Vector128<sbyte> High) Iq4Levels(byte* qs, Vector128<sbyte> table)
    {
        var packed = Vector128.Load(qs);
        var low = Vector128.ShuffleNative(table, (packed & Vector128.Create((byte)15)).AsSByte());
        var high = Vector128.ShuffleNative(table, Vector128.ShiftRightLogical(packed, 4).AsSByte());
        return (low, high);
    }
}
