using System.Numerics;
using System.Runtime.InteropServices;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// The i-quant lattice tables in the byte-per-lane form the kernels read: each grid point is one ulong
/// (8 lanes) or uint (4 lanes) whose little-endian bytes are the lane values. Built once from
/// <see cref="IQuantGridCodes"/> into process-lifetime native memory, so kernels index raw pointers.
/// </summary>
internal static unsafe class IQuantGrids
{
    /// <summary>IQ2_XXS points: 256 × 8 unsigned lanes in {8, 25, 43}.</summary>
    public static readonly ulong* Iq2Xxs = Expand8(IQuantGridCodes.Iq2XxsCodes, [8, 25, 43]);

    /// <summary>IQ2_XS points: 512 × 8 unsigned lanes in {8, 25, 43}.</summary>
    public static readonly ulong* Iq2Xs = Expand8(IQuantGridCodes.Iq2XsCodes, [8, 25, 43]);

    /// <summary>IQ2_S points: 1024 × 8 unsigned lanes in {8, 25, 43}.</summary>
    public static readonly ulong* Iq2S = Expand8(IQuantGridCodes.Iq2SCodes, [8, 25, 43]);

    /// <summary>IQ3_XXS points: 256 × 4 unsigned lanes.</summary>
    public static readonly uint* Iq3Xxs = Expand4(IQuantGridCodes.Iq3XxsCodes, [4, 12, 20, 28, 36, 44, 52, 62]);

    /// <summary>IQ3_S points: 512 × 4 unsigned lanes (odd values 1..15).</summary>
    public static readonly uint* Iq3S = Expand4(IQuantGridCodes.Iq3SCodes, [1, 3, 5, 7, 9, 11, 13, 15]);

    /// <summary>IQ1_S / IQ1_M points: 2048 × 8 signed lanes in {−1, 0, 1} (bytes 0xFF, 0, 1).</summary>
    public static readonly ulong* Iq1S = Expand8(IQuantGridCodes.Iq1SCodes, [0xFF, 0, 1]);

    /// <summary>IQ1_S / IQ1_M points with every lane plus one: unsigned lanes in {0, 1, 2} (for u8×s8 products).</summary>
    public static readonly ulong* Iq1SPlusOne = Expand8(IQuantGridCodes.Iq1SCodes, [0, 1, 2]);

    /// <summary><see cref="Iq1SPlusOne"/> twice over, so IQ1_M's 12-bit (index | delta-sign bit 11) codes index it directly.</summary>
    public static readonly ulong* Iq1MPlusOne = Twice(Iq1SPlusOne, 2048);

    /// <summary>
    /// The 7-bit sign codes of IQ2_XXS/IQ2_XS/IQ3_XXS: 8 sign bits whose 8th bit makes the count of set bits even
    /// (sign code i → i | parity(i) &lt;&lt; 7).
    /// </summary>
    public static readonly byte* EvenSigns = BuildEvenSigns();

    /// <summary>Sign code (7-bit, even parity) → 8 byte lanes: 0xFF where the lane is negated, else 0.</summary>
    public static readonly ulong* EvenSignMasks = BuildSignMasks(128, i => EvenSigns[i]);

    /// <summary>Explicit sign byte → 8 byte lanes: 0xFF where bit j is set, else 0.</summary>
    public static readonly ulong* ByteSignMasks = BuildSignMasks(256, i => (byte)i);

    /// <summary>Sign code (7-bit, even parity) → 8 byte lanes of −1 (0xFF) or +1, for a lane-wise sign multiply.</summary>
    public static readonly ulong* EvenSignUnits = BuildSignUnits(EvenSignMasks, 128);

    /// <summary>Explicit sign byte → 8 byte lanes of −1 (0xFF) or +1.</summary>
    public static readonly ulong* ByteSignUnits = BuildSignUnits(ByteSignMasks, 256);

    /// <summary>The 16 non-linear levels of IQ4_NL and IQ4_XS.</summary>
    public static ReadOnlySpan<sbyte> Iq4NlValues => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    private static ulong* Expand8(ReadOnlySpan<ushort> codes, ReadOnlySpan<byte> levels)
    {
        var table = (ulong*)NativeMemory.AlignedAlloc((nuint)(codes.Length * 8), 64);
        for (int i = 0; i < codes.Length; i++)
        {
            ulong point = 0;
            for (int lane = 0; lane < 8; lane++)
                point |= (ulong)levels[(codes[i] >> (2 * lane)) & 3] << (8 * lane);
            table[i] = point;
        }
        return table;
    }

    private static ulong* Twice(ulong* table, int count)
    {
        var twice = (ulong*)NativeMemory.AlignedAlloc((nuint)(2 * count * 8), 64);
        for (int i = 0; i < count; i++)
            twice[i] = twice[i + count] = table[i];
        return twice;
    }

    private static uint* Expand4(ReadOnlySpan<ushort> codes, ReadOnlySpan<byte> levels)
    {
        var table = (uint*)NativeMemory.AlignedAlloc((nuint)(codes.Length * 4), 64);
        for (int i = 0; i < codes.Length; i++)
        {
            uint point = 0;
            for (int lane = 0; lane < 4; lane++)
                point |= (uint)levels[(codes[i] >> (3 * lane)) & 7] << (8 * lane);
            table[i] = point;
        }
        return table;
    }

    private static ulong* BuildSignUnits(ulong* masks, int count)
    {
        var table = (ulong*)NativeMemory.AlignedAlloc((nuint)(count * 8), 64);
        for (int i = 0; i < count; i++)
            table[i] = masks[i] | 0x0101010101010101UL;
        return table;
    }

    private static byte* BuildEvenSigns()
    {
        var table = (byte*)NativeMemory.AlignedAlloc(128, 64);
        for (int i = 0; i < 128; i++)
            table[i] = (byte)(i | ((BitOperations.PopCount((uint)i) & 1) << 7));
        return table;
    }

    private static ulong* BuildSignMasks(int count, Func<int, byte> signBits)
    {
        var table = (ulong*)NativeMemory.AlignedAlloc((nuint)(count * 8), 64);
        for (int i = 0; i < count; i++)
        {
            byte bits = signBits(i);
            ulong mask = 0;
            for (int lane = 0; lane < 8; lane++)
                if ((bits & (1 << lane)) != 0)
                    mask |= 0xFFUL << (8 * lane);
            table[i] = mask;
        }
        return table;
    }
}
