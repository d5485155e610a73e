using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using KimiSharp.Quants.IQuants;

namespace KimiSharp.Quants.Repacked;

/// <summary>
/// The float llama.cpp's CPU backend gets for one weight row and one token when it has repacked an IQ4_NL matrix into
/// iq4_nl_8x8 blocks (ggml_gemv_iq4_nl_8x8_q8_0 / ggml_gemm_iq4_nl_8x8_q8_0, AVX2/AVX-512), from the plain layout:
/// the same order as <see cref="Q40RepackedDot"/> (exact integer Σ levels·q_a per block, then one scalar chain
/// acc = fma((float)Σ, d_w·d_a, acc) in block order from +0), independent of the row's and token's place in their groups.
/// Differs from IQ4_NL's vec_dot (two 8-lane accumulators) and from tinyBLAS (one 8-lane accumulator).
/// </summary>
internal static unsafe class Iq4NlRepackedDot
{
    private const int WBytes = 18, ABytes = 34;

    /// <summary>Σ w·a over n elements (n a multiple of 32) in the repacked order: w plain IQ4_NL, a Q8_0.</summary>
    public static float Dot(byte* w, byte* a, int n) =>
        Avx2.IsSupported ? DotAvx2(w, a, n) : DotScalar(w, a, n);

    internal static float DotScalar(byte* w, byte* a, int n)
    {
        var levels = IQuantGrids.Iq4NlValues;
        float acc = 0;
        for (int b = 0; b < n / 32; b++, w += WBytes, a += ABytes)
        {
            sbyte* q8 = (sbyte*)(a + 2);
            int isum = 0;
            for (int j = 0; j < 16; j++)
                isum += levels[w[2 + j] & 15] * q8[j] + levels[w[2 + j] >> 4] * q8[j + 16];
            acc = MathF.FusedMultiplyAdd(isum, Fp16.ToFloat(*(ushort*)w) * Fp16.ToFloat(*(ushort*)a), acc);
        }
        return acc;
    }

    /// <summary>Integer sums of 8 blocks at a time in SIMD, then the scalar FMA chain over them in block order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var table = Iq4NlCodec.LevelTable;
        int* sums = stackalloc int[8];
        float acc = 0;
        int blocks = n / 32, b = 0;
        for (; b + 8 <= blocks; b += 8, w += 8 * WBytes, a += 8 * ABytes)
        {
            Q40RepackedSums.Store8(sums,
                BlockLanes(w, a, table), BlockLanes(w + WBytes, a + ABytes, table),
                BlockLanes(w + 2 * WBytes, a + 2 * ABytes, table), BlockLanes(w + 3 * WBytes, a + 3 * ABytes, table),
                BlockLanes(w + 4 * WBytes, a + 4 * ABytes, table), BlockLanes(w + 5 * WBytes, a + 5 * ABytes, table),
                BlockLanes(w + 6 * WBytes, a + 6 * ABytes, table), BlockLanes(w + 7 * WBytes, a + 7 * ABytes, table));
            for (int k = 0; k < 8; k++)
                acc = MathF.FusedMultiplyAdd(sums[k], f16[*(ushort*)(w + k * WBytes)] * f16[*(ushort*)(a + k * ABytes)], acc);
        }
        for (; b < blocks; b++, w += WBytes, a += ABytes)
            acc = MathF.FusedMultiplyAdd(Q40RepackedSums.Sum(BlockLanes(w, a, table)), f16[*(ushort*)w] * f16[*(ushort*)a], acc);
        return acc;
    }

    /// <summary>
    /// y[k] = <see cref="Dot"/>(w + k·rowBytes, a, n) for the 8 rows k = 0..7 at once: one float lane per row carries
    /// that row's chain (a vector FMA rounds each lane as the scalar one), as ggml's gemv does for its 8-row groups.
    /// </summary>
    public static void Dot8Rows(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (Avx2.IsSupported && Fma.IsSupported)
        {
            Dot8RowsAvx2(w, rowBytes, a, n, y);
            return;
        }
        for (int k = 0; k < 8; k++)
            y[k] = DotScalar(w + k * rowBytes, a, n);
    }

    internal static void Dot8RowsAvx2(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (AvxVnni.IsSupported)
            Dot8RowsVnni(w, rowBytes, a, n, y);
        else
            Dot8RowsSigned(w, rowBytes, a, n, y);
    }

    /// <summary>Signed level·y products per row (|level| ≤ 127 keeps the 16-bit pairs exact without VNNI).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot8RowsSigned(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        float* f16 = Fp16.TablePointer;
        var table = Iq4NlCodec.LevelTable;
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 32; b++, w += WBytes, a += ABytes)
        {
            var sums = Q40RepackedSums.Transpose8(
                BlockLanes(w, a, table), BlockLanes(w + rowBytes, a, table),
                BlockLanes(w + 2 * rowBytes, a, table), BlockLanes(w + 3 * rowBytes, a, table),
                BlockLanes(w + 4 * rowBytes, a, table), BlockLanes(w + 5 * rowBytes, a, table),
                BlockLanes(w + 6 * rowBytes, a, table), BlockLanes(w + 7 * rowBytes, a, table));
            var d = Q40RepackedSums.Scales8(w, rowBytes, f16) * Vector256.Create(f16[*(ushort*)a]);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sums), d, acc);
        }
        acc.Store(y);
    }

    /// <summary>
    /// With VNNI (no 16-bit saturation): Σ level·y = Σ (level+128)·y − 128·Σ y, the levels biased to bytes 1..241 so
    /// one u8·s8 dot per row serves, the correction shared by the 8 rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot8RowsVnni(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        float* f16 = Fp16.TablePointer;
        var biased = (Iq4NlCodec.LevelTable.AsByte() + Vector256.Create((byte)128)).AsSByte();
        var bias = Vector256.Create((byte)128);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 32; b++, w += WBytes, a += ABytes)
        {
            var q8 = Avx.LoadVector256((sbyte*)(a + 2));
            var sums = Q40RepackedSums.Transpose8(
                BiasedLanes(w, q8, biased), BiasedLanes(w + rowBytes, q8, biased),
                BiasedLanes(w + 2 * rowBytes, q8, biased), BiasedLanes(w + 3 * rowBytes, q8, biased),
                BiasedLanes(w + 4 * rowBytes, q8, biased), BiasedLanes(w + 5 * rowBytes, q8, biased),
                BiasedLanes(w + 6 * rowBytes, q8, biased), BiasedLanes(w + 7 * rowBytes, q8, biased))
                - Vector256.Create(Q40RepackedSums.Sum(AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, bias, q8)));
            var d = Q40RepackedSums.Scales8(w, rowBytes, f16) * Vector256.Create(f16[*(ushort*)a]);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sums), d, acc);
        }
        acc.Store(y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BiasedLanes(byte* w, Vector256<sbyte> q8, Vector256<sbyte> biased) =>
        AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Iq4NlCodec.Levels(w + 2, biased).AsByte(), q8);

    /// <summary>One block's Σ level·y over 8 int lanes (|level| ≤ 127 keeps the 16-bit pairs exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockLanes(byte* w, byte* a, Vector256<sbyte> table) =>
        SimdOps.DotS8S8(Iq4NlCodec.Levels(w + 2, table), Avx.LoadVector256((sbyte*)(a + 2)));
}
