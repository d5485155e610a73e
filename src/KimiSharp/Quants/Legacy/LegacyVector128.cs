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
}
