using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static KimiSharp.Quants.Vector128IntDot;

namespace KimiSharp.Quants;

/// <summary>
/// Portable Vector128 dot products of the legacy 32-element formats (NEON on ARM64, SSE on x86), for CPUs without
/// AVX2. Each block's integer sum is exact; the per-block float products are accumulated in 4 lanes.
/// </summary>
internal static unsafe class LegacyVector128
{
    /// <summary>Q8_0 · Q8_0. A 16-bit lane w[2k]·y[2k] + w[2k+1]·y[2k+1] lies in [−32512, 32768]: biased by −256 it fits exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q8_0(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector128<float>.Zero;
        var bias = Vector128.Create((short)256);
        // two biased 16-bit lanes per 32-bit lane, two vectors per block: −1024 per lane to undo
        var unbias = Vector128.Create(1024);
        for (int b = 0; b < n / 32; b++, w += 34, a += 34)
        {
            var p0 = MulAddSigned(Vector128.Load((sbyte*)(w + 2)), Vector128.Load((sbyte*)(a + 2))) - bias;
            var p1 = MulAddSigned(Vector128.Load((sbyte*)(w + 18)), Vector128.Load((sbyte*)(a + 18))) - bias;
            acc = Accumulate(acc, f16[*(ushort*)w] * f16[*(ushort*)a], PairSum(p0) + PairSum(p1) + unbias);
        }
        return Vector128.Sum(acc);
    }

    /// <summary>Q4_0 · Q8_0: Σ (q − 8)·y per block, q − 8 ∈ [−8, 7] (lanes of 4 products stay within ±4096).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_0(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector128<float>.Zero;
        var eight = Vector128.Create((byte)8);
        for (int b = 0; b < n / 32; b++, w += 18, a += 34)
        {
            var bits = Vector128.Load(w + 2);
            var lo = (LowNibbles(bits) - eight).AsSByte();
            var hi = (HighNibbles(bits) - eight).AsSByte();
            var p = MulAddSigned(lo, Vector128.Load((sbyte*)(a + 2))) + MulAddSigned(hi, Vector128.Load((sbyte*)(a + 18)));
            acc = Accumulate(acc, f16[*(ushort*)w] * f16[*(ushort*)a], PairSum(p));
        }
        return Vector128.Sum(acc);
    }

    /// <summary>Q4_1 · Q8_1: d·d_a·Σ q·y + m·s_a per block (s_a = d_a·Σ y, stored in the activation block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_1(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector128<float>.Zero;
        float mins = 0;
        for (int b = 0; b < n / 32; b++, w += 20, a += 36)
        {
            var bits = Vector128.Load(w + 4);
            var p = MulAddUnsigned(LowNibbles(bits), Vector128.Load((sbyte*)(a + 4))) + MulAddUnsigned(HighNibbles(bits), Vector128.Load((sbyte*)(a + 20)));
            acc = Accumulate(acc, f16[*(ushort*)w] * f16[*(ushort*)a], PairSum(p));
            mins += f16[*(ushort*)(w + 2)] * f16[*(ushort*)(a + 2)];
        }
        return Vector128.Sum(acc) + mins;
    }

    /// <summary>Q5_0 · Q8_0: Σ (q − 16)·y, q = nibble | (bit j of qh) &lt;&lt; 4, q − 16 ∈ [−16, 15] (lanes within ±8192).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_0(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector128<float>.Zero;
        var sixteen = Vector128.Create((byte)16);
        for (int b = 0; b < n / 32; b++, w += 22, a += 34)
        {
            uint qh = *(uint*)(w + 2);
            var bits = Vector128.Load(w + 6);
            var lo = ((LowNibbles(bits) | (BitsToBytes(qh) & sixteen)) - sixteen).AsSByte();
            var hi = ((HighNibbles(bits) | (BitsToBytes(qh >> 16) & sixteen)) - sixteen).AsSByte();
            var p = MulAddSigned(lo, Vector128.Load((sbyte*)(a + 2))) + MulAddSigned(hi, Vector128.Load((sbyte*)(a + 18)));
            acc = Accumulate(acc, f16[*(ushort*)w] * f16[*(ushort*)a], PairSum(p));
        }
        return Vector128.Sum(acc);
    }

    /// <summary>Q5_1 · Q8_1: d·d_a·Σ q·y + m·s_a per block, q = nibble | (bit j of qh) &lt;&lt; 4 ≤ 31 (lanes within ±15872).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_1(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc = Vector128<float>.Zero;
        var sixteen = Vector128.Create((byte)16);
        float mins = 0;
        for (int b = 0; b < n / 32; b++, w += 24, a += 36)
        {
            uint qh = *(uint*)(w + 4);
            var bits = Vector128.Load(w + 8);
            var lo = LowNibbles(bits) | (BitsToBytes(qh) & sixteen);
            var hi = HighNibbles(bits) | (BitsToBytes(qh >> 16) & sixteen);
            var p = MulAddUnsigned(lo, Vector128.Load((sbyte*)(a + 4))) + MulAddUnsigned(hi, Vector128.Load((sbyte*)(a + 20)));
            acc = Accumulate(acc, f16[*(ushort*)w] * f16[*(ushort*)a], PairSum(p));
            mins += f16[*(ushort*)(w + 2)] * f16[*(ushort*)(a + 2)];
        }
        return Vector128.Sum(acc) + mins;
    }
}
