using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using KimiSharp.Compute;

namespace KimiSharp.Quants;

/// <summary>
/// F16·F16 and BF16·BF16 dots in the order of llama.cpp's batched path (llamafile tinyBLAS): each register-wide chunk
/// widened to F32 and FMA'd into one accumulator, then its lane reduction. In the AVX-512 build (F16C-free: 16 lanes,
/// lane halving, n a multiple of 16); in the AVX2 build (<see cref="GgmlCpuVariant"/>: 8 lanes, hsum(__m256), n a
/// multiple of 8). Widening is exact either way, so the portable fallbacks give the same bits.
/// </summary>
internal static unsafe class TinyBlasHalfDot
{
    public static float F16(ushort* w, ushort* a, int n) => GgmlCpuVariant.Avx2 ? Avx2Build(w, a, n, bf16: false) : Avx512Build(w, a, n, bf16: false);

    public static float BF16(ushort* w, ushort* a, int n) => GgmlCpuVariant.Avx2 ? Avx2Build(w, a, n, bf16: true) : Avx512Build(w, a, n, bf16: true);

    private static float Avx512Build(ushort* w, ushort* a, int n, bool bf16)
    {
        if (n % GgmlFloatOrder.Lanes != 0)
            throw new ArgumentException($"n must be a multiple of {GgmlFloatOrder.Lanes}, got {n}", nameof(n));
        if (Avx512F.IsSupported)
        {
            var acc = Vector512<float>.Zero;
            for (int i = 0; i < n; i += GgmlFloatOrder.Lanes)
                acc = Avx512F.FusedMultiplyAdd(Widen(w + i, bf16), Widen(a + i, bf16), acc);
            return GgmlFloatOrder.ReduceLanes(acc.GetLower(), acc.GetUpper());
        }
        Span<float> lanes = stackalloc float[GgmlFloatOrder.Lanes];
        lanes.Clear();
        for (int i = 0; i < n; i++)
            lanes[i % GgmlFloatOrder.Lanes] = MathF.FusedMultiplyAdd(ToFloat(w[i], bf16), ToFloat(a[i], bf16), lanes[i % GgmlFloatOrder.Lanes]);
        return GgmlFloatOrder.ReduceLanes(Vector256.Create((ReadOnlySpan<float>)lanes[..8]), Vector256.Create((ReadOnlySpan<float>)lanes[8..]));
    }

    private static float Avx2Build(ushort* w, ushort* a, int n, bool bf16)
    {
        const int lanes = GgmlFloatOrder.Avx2Lanes;
        if (n % lanes != 0)
            throw new ArgumentException($"n must be a multiple of {lanes}, got {n}", nameof(n));
        var acc = Vector256<float>.Zero;
        for (int i = 0; i < n; i += lanes)
            acc = GgmlFloatOrder.Fma256(Widen256(w + i, bf16), Widen256(a + i, bf16), acc);
        return GgmlFloatOrder.ReduceLanesMoveHigh(acc);
    }

    private static Vector512<float> Widen(ushort* p, bool bf16)
    {
        var wide = Avx512F.ConvertToVector512UInt32(Vector256.Load(p));
        var high = Avx512F.ShiftLeftLogical(wide, 16);
        return bf16 ? high.AsSingle() : HalfWidening.Exact(high);
    }

    /// <summary>8 halves (or bfloat16s) widened exactly to floats, lane i = element i.</summary>
    private static Vector256<float> Widen256(ushort* p, bool bf16)
    {
        var (lo, hi) = Vector128.Widen(Vector128.Load(p));
        var high = Vector256.ShiftLeft(Vector256.Create(lo, hi), 16);
        return bf16 ? high.AsSingle() : HalfWidening.Exact(high);
    }

    private static float ToFloat(ushort bits, bool bf16) =>
        bf16 ? BitConverter.Int32BitsToSingle(bits << 16) : (float)BitConverter.UInt16BitsToHalf(bits);
}
