using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KimiSharp.Quants;

/// <summary>
/// Integer building blocks of the portable Vector128 kernels (x86 SSE and ARM NEON alike; no pmaddubsw/pmaddwd).
/// 16 bytes are read as 8 16-bit lanes and split into their even and odd bytes by shifts (sign- or zero-extended),
/// so a byte product needs no shuffle: lane k of a product vector holds elements 2k and 2k+1. Every sum is exact
/// as long as the caller keeps each 16-bit lane within ±32767 (stated per method).
/// </summary>
internal static class Vector128IntDot
{
    /// <summary>Per 16-bit lane: w[2k]·y[2k] + w[2k+1]·y[2k+1], both signed bytes. Exact when 2·|w|·128 ≤ 32767 (|w| ≤ 127 and not both pairs −128·−128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulAddSigned(Vector128<sbyte> w, Vector128<sbyte> y)
    {
        var w16 = w.AsInt16();
        var y16 = y.AsInt16();
        return ((w16 << 8) >> 8) * ((y16 << 8) >> 8) + (w16 >> 8) * (y16 >> 8);
    }

    /// <summary>Per 16-bit lane: u[2k]·y[2k] + u[2k+1]·y[2k+1], u unsigned bytes ≤ 127, y signed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulAddUnsigned(Vector128<byte> u, Vector128<sbyte> y)
    {
        var u16 = u.AsInt16();
        return MulAddEvenOdd(u16 & Vector128.Create((short)0xFF), Vector128.ShiftRightLogical(u16, 8), y);
    }

    /// <summary>Per 16-bit lane k: even[k]·y[2k] + odd[k]·y[2k+1] (weights already split into 16-bit lanes, y signed bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> MulAddEvenOdd(Vector128<short> even, Vector128<short> odd, Vector128<sbyte> y)
    {
        var y16 = y.AsInt16();
        return even * ((y16 << 8) >> 8) + odd * (y16 >> 8);
    }

    /// <summary>Per 32-bit lane: the sum of its two 16-bit lanes, sign-extended (pmaddwd by 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> PairSum(Vector128<short> s)
    {
        var s32 = s.AsInt32();
        return ((s32 << 16) >> 16) + (s32 >> 16);
    }

    /// <summary>Low nibbles of 16 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> LowNibbles(Vector128<byte> b) => b & Vector128.Create((byte)0x0F);

    /// <summary>High nibbles of 16 bytes (16-bit shift, then the mask drops the bits from the neighbouring byte).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> HighNibbles(Vector128<byte> b) =>
        Vector128.ShiftRightLogical(b.AsUInt16(), 4).AsByte() & Vector128.Create((byte)0x0F);

    /// <summary>16 bits → 16 bytes: byte j = 0xFF when bit j of <paramref name="bits"/> is set, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> BitsToBytes(uint bits)
    {
        const ulong spread = 0x0101010101010101UL;
        var v = Vector128.Create((bits & 0xFF) * spread, ((bits >> 8) & 0xFF) * spread).AsByte();
        var bitOfByte = Vector128.Create(0x8040201008040201UL).AsByte();
        return Vector128.Equals(v & bitOfByte, bitOfByte);
    }

    /// <summary>acc + scale·v (fused where the hardware has FMA; mul+add otherwise).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Accumulate(Vector128<float> acc, float scale, Vector128<int> v) =>
        Vector128.MultiplyAddEstimate(Vector128.Create(scale), Vector128.ConvertToSingle(v), acc);
}
