using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants.Repacked;

/// <summary>
/// The float llama.cpp's CPU backend gets for one weight row and one token when it has repacked a Q4_0 matrix into
/// q4_0_8x8 blocks (ggml_gemv_q4_0_8x8_q8_0 / ggml_gemm_q4_0_8x8_q8_0, AVX2/AVX-512), computed from the plain layout:
/// per block the exact integer Σ q_w·q_a, then ONE scalar chain in block order, acc = fma((float)Σ, d_w·d_a, acc),
/// from +0. gemv and gemm share this order (each output lane keeps its own chain), so the row's place in its group of 8
/// and the token's place in its group of 4 do not matter; ggml's interleaved activations (quantize_mat_q8_0_4x8)
/// hold the same bytes as quantize_row_q8_0, so <see cref="ActivationQuantizer"/>'s Q8_0 rows are the input.
/// vec_dot differs: it keeps 8 float lanes per block and sums them at the end.
/// </summary>
internal static unsafe class Q40RepackedDot
{
    private const int WBytes = 18, ABytes = 34;

    /// <summary>Σ w·a over n elements (n a multiple of 32) in the repacked order: w plain Q4_0, a Q8_0.</summary>
    public static float Dot(byte* w, byte* a, int n) =>
        Avx2.IsSupported ? DotAvx2(w, a, n) : DotScalar(w, a, n);

    internal static float DotScalar(byte* w, byte* a, int n)
    {
        float acc = 0;
        for (int b = 0; b < n / 32; b++, w += WBytes, a += ABytes)
        {
            sbyte* q8 = (sbyte*)(a + 2);
            int isum = 0;
            for (int j = 0; j < 16; j++)
                isum += ((w[2 + j] & 15) - 8) * q8[j] + ((w[2 + j] >> 4) - 8) * q8[j + 16];
            acc = MathF.FusedMultiplyAdd(isum, Fp16.ToFloat(*(ushort*)w) * Fp16.ToFloat(*(ushort*)a), acc);
        }
        return acc;
    }

    /// <summary>Integer sums of 8 blocks at a time in SIMD, then the scalar FMA chain over them in block order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        int* sums = stackalloc int[8];
        float acc = 0;
        int blocks = n / 32, b = 0;
        for (; b + 8 <= blocks; b += 8, w += 8 * WBytes, a += 8 * ABytes)
        {
            Q40RepackedSums.Store8(sums,
                BlockLanes(w, a), BlockLanes(w + WBytes, a + ABytes),
                BlockLanes(w + 2 * WBytes, a + 2 * ABytes), BlockLanes(w + 3 * WBytes, a + 3 * ABytes),
                BlockLanes(w + 4 * WBytes, a + 4 * ABytes), BlockLanes(w + 5 * WBytes, a + 5 * ABytes),
                BlockLanes(w + 6 * WBytes, a + 6 * ABytes), BlockLanes(w + 7 * WBytes, a + 7 * ABytes));
            for (int k = 0; k < 8; k++)
                acc = MathF.FusedMultiplyAdd(sums[k], f16[*(ushort*)(w + k * WBytes)] * f16[*(ushort*)(a + k * ABytes)], acc);
        }
        for (; b < blocks; b++, w += WBytes, a += ABytes)
            acc = MathF.FusedMultiplyAdd(Q40RepackedSums.Sum(BlockLanes(w, a)), f16[*(ushort*)w] * f16[*(ushort*)a], acc);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot8RowsAvx2(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        float* f16 = Fp16.TablePointer;
        var eight = Vector256.Create((byte)8);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 32; b++, w += WBytes, a += ABytes)
        {
            var q8 = Avx.LoadVector256((sbyte*)(a + 2));
            // Σ(q−8)·y = Σ q·y − Σ 8·y, the second term shared by the 8 rows
            var sums = Q40RepackedSums.Transpose8(
                SimdOps.DotU8S8(SimdOps.Nibbles16(w + 2), q8), SimdOps.DotU8S8(SimdOps.Nibbles16(w + rowBytes + 2), q8),
                SimdOps.DotU8S8(SimdOps.Nibbles16(w + 2 * rowBytes + 2), q8), SimdOps.DotU8S8(SimdOps.Nibbles16(w + 3 * rowBytes + 2), q8),
                SimdOps.DotU8S8(SimdOps.Nibbles16(w + 4 * rowBytes + 2), q8), SimdOps.DotU8S8(SimdOps.Nibbles16(w + 5 * rowBytes + 2), q8),
                SimdOps.DotU8S8(SimdOps.Nibbles16(w + 6 * rowBytes + 2), q8), SimdOps.DotU8S8(SimdOps.Nibbles16(w + 7 * rowBytes + 2), q8))
                - Vector256.Create(Q40RepackedSums.Sum(SimdOps.DotU8S8(eight, q8)));
            var d = Q40RepackedSums.Scales8(w, rowBytes, f16) * Vector256.Create(f16[*(ushort*)a]);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sums), d, acc);
        }
        acc.Store(y);
    }

    /// <summary>One block's Σ(q−8)·y spread over 8 int lanes: Σ q·y − Σ 8·y (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockLanes(byte* w, byte* a)
    {
        var q8 = Avx.LoadVector256((sbyte*)(a + 2));
        return Avx2.Subtract(SimdOps.DotU8S8(SimdOps.Nibbles16(w + 2), q8), SimdOps.DotU8S8(Vector256.Create((byte)8), q8));
    }
}
