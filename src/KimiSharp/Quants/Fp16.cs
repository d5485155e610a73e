using System.Runtime.CompilerServices;

namespace KimiSharp.Quants;

/// <summary>IEEE half and bfloat16 conversions that give the same bits as ggml's scalar converters.</summary>
public static class Fp16
{
    /// <summary>Every half value as a float (256 KiB); indexing it is the fastest scalar conversion.</summary>
    internal static readonly float[] Table = BuildTable();

    /// <summary>The same table in native memory, for kernels that hoist it into a local pointer.</summary>
    internal static readonly unsafe float* TablePointer = CopyToNative(Table);

    private static unsafe float* CopyToNative(float[] table)
    {
        var p = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(table.Length * sizeof(float)), 64);
        table.CopyTo(new Span<float>(p, table.Length));
        return p;
    }

    private static float[] BuildTable()
    {
        var t = new float[65536];
        for (int h = 0; h < t.Length; h++)
            t[h] = Compute((ushort)h);
        return t;
    }

    /// <summary>Half → float. NaNs keep their payload and come out quiet (as F16C / ggml's converter do).</summary>
    private static float Compute(ushort h)
    {
        uint sign = (uint)(h & 0x8000) << 16;
        if ((h & 0x7C00) == 0x7C00)
        {
            uint mant = (uint)(h & 0x3FF);
            uint bits = mant == 0 ? 0x7F800000u : 0x7FC00000u | (mant << 13);
            return BitConverter.UInt32BitsToSingle(sign | bits);
        }
        return (float)BitConverter.UInt16BitsToHalf(h);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort h) => Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(Table), h);

    /// <summary>Float → half, round to nearest even; any NaN becomes 0x7E00 with the sign kept (ggml's scalar rule).</summary>
    public static ushort FromFloat(float f)
    {
        uint w = BitConverter.SingleToUInt32Bits(f);
        if ((w & 0x7FFFFFFF) > 0x7F800000)
            return (ushort)((w >> 16 & 0x8000) | 0x7E00);
        return BitConverter.HalfToUInt16Bits((Half)f);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BF16ToFloat(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    /// <summary>Float → bfloat16 as ggml: NaN → quiet NaN (bit 6 set), otherwise round to nearest even.</summary>
    public static ushort FloatToBF16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7FFFFFFF) > 0x7F800000)
            return (ushort)((u >> 16) | 64);
        return (ushort)((u + (0x7FFF + ((u >> 16) & 1))) >> 16);
    }
}
