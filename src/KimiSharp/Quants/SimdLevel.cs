using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>The instruction-set paths the dot products have; every kernel has a <see cref="Scalar"/> reference.</summary>
public enum SimdLevel
{
    Scalar,
    Vector128,
    Avx2,
    Avx512,
}

/// <summary>Chooses the best available path once at start-up (each path is also callable directly, for tests).</summary>
public static class Simd
{
    /// <summary>The path VecDot uses on this machine.</summary>
    public static readonly SimdLevel Best =
        Avx512BW.IsSupported && Avx512F.VL.IsSupported && Avx512DQ.IsSupported ? SimdLevel.Avx512
        : Avx2.IsSupported && Fma.IsSupported ? SimdLevel.Avx2
        : Vector128.IsHardwareAccelerated ? SimdLevel.Vector128
        : SimdLevel.Scalar;

    /// <summary>True when <paramref name="level"/> can run on this machine.</summary>
    public static bool IsAvailable(SimdLevel level) => level <= Best;

    /// <summary>Whether the 256-bit u8×s8 dot (vpdpbusd, VEX) is available for the AVX2/AVX-512 paths.</summary>
    public static readonly bool HasAvxVnni = AvxVnni.IsSupported;
}
