using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static KimiSharp.Quants.IQuants.IQuantMath;
using static KimiSharp.Quants.IQuants.IQuantsVector128Ops;

namespace KimiSharp.Quants.IQuants;

internal static unsafe partial class IQuantsVector128
{
    /// <summary>
    /// TQ2_0 × Q8_K: 2-bit codes − 1 as byte lanes. With |w| ≤ 1 a short lane collects at most 32 products of
    /// |a| ≤ 128 per block, so the whole block is summed in 8 short lanes and widened once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Tq2Dot(byte* x, byte* y, int n)
    {
        var three = Vector128.Create((byte)3);
        var one = Vector128.Create((sbyte)1);
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 66, y += Q8KBytes)
        {
            byte* q8 = y + Q8KQs;
            var blockSum = Vector128<short>.Zero;
            for (int j = 0; j < 64; j += 32)
            {
                var low = Vector128.Load(x + j);
                var high = Vector128.Load(x + j + 16);
                for (int l = 0; l < 4; l++)
                {
                    byte* a = q8 + 4 * j + 32 * l;
                    blockSum += TernaryDot16((Vector128.ShiftRightLogical(low, 2 * l) & three).AsSByte() - one, Load(a));
                    blockSum += TernaryDot16((Vector128.ShiftRightLogical(high, 2 * l) & three).AsSByte() - one, Load(a + 16));
                }
            }
            acc = Accumulate(acc, *(float*)y * Half(x + 64), Widen(blockSum));
        }
        return Vector128.Sum(acc);
    }

    /// <summary>
    /// TQ1_0 × Q8_K: base-3 digit k of byte v is ((v·3ᵏ mod 256)·3) &gt;&gt; 8, computed in 16-bit lanes; digits − 1 times
    /// the widened activations, summed per block in 8 short lanes (≤ 32 products of |a| ≤ 128 each).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Tq1Dot(byte* x, byte* y, int n)
    {
        // The 4 qh bytes repeated 4 times: lanes 4k..4k+3 take digit k (powers 1, 3 for the low 8 lanes, 9, 27 for the high 8).
        var qhPowLow = Vector128.Create((ushort)1, 1, 1, 1, 3, 3, 3, 3);
        var qhPowHigh = Vector128.Create((ushort)9, 9, 9, 9, 27, 27, 27, 27);
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 54, y += Q8KBytes)
        {
            byte* q8 = y + Q8KQs;
            var (u0, u1) = Vector128.Widen(Vector128.Load(x));
            var (u2, u3) = Vector128.Widen(Vector128.Load(x + 16));
            var (v0, v1) = Vector128.Widen(Vector128.Load(x + 32));
            var blockSum = Vector128<short>.Zero;
            ushort pow = 1;
            for (int k = 0; k < 5; k++, pow *= 3)
            {
                var p = Vector128.Create(pow);
                blockSum += Tq1Dot16(u0, u1, p, p, q8 + 32 * k) + Tq1Dot16(u2, u3, p, p, q8 + 32 * k + 16);
                blockSum += Tq1Dot16(v0, v1, p, p, q8 + 160 + 16 * k);
            }
            var (h0, h1) = Vector128.Widen(Vector128.Create(*(uint*)(x + 48)).AsByte());
            blockSum += Tq1Dot16(h0, h1, qhPowLow, qhPowHigh, q8 + 240);
            acc = Accumulate(acc, Half(x + 52) * *(float*)y, Widen(blockSum));
        }
        return Vector128.Sum(acc);
    }

    /// <summary>
    /// (digit − 1)·a over 16 lanes: low / high hold 16 packed bytes widened to 16 bits, powLow / powHigh the per-lane
    /// power of 3 that selects the digit; the result stays in 8 short lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Tq1Dot16(Vector128<ushort> low, Vector128<ushort> high, Vector128<ushort> powLow, Vector128<ushort> powHigh, byte* a)
    {
        var q = Load(a);
        return Tq1Weights(low, powLow) * Vector128.WidenLower(q) + Tq1Weights(high, powHigh) * Vector128.WidenUpper(q);
    }

    /// <summary>Digit − 1 of each 16-bit lane v: ((v·pow mod 256)·3 &gt;&gt; 8) − 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Tq1Weights(Vector128<ushort> v, Vector128<ushort> pow) =>
        Vector128.ShiftRightLogical((v * pow & Vector128.Create((ushort)255)) * 3, 8).AsInt16() - Vector128.Create((short)1);
}
