using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using KimiSharp.Compute;

namespace KimiSharp.Quants;

/// <summary>
/// F16·F16 and BF16·BF16 dots in the order of llama.cpp's batched path (llamafile tinyBLAS on AVX-512F): each 16-value
/// chunk widened to F32 and FMA'd into one 16-lane accumulator, then the lane halving reduction. n must be a multiple
/// of 16. Widening is exact either way, so the portable fallback gives the same bits.
/// </summary>
internal static unsafe class TinyBlasHalfDot
{
    public static float F16(ushort* w, ushort* a, int n) => Dot(w, a, n, bf16: false);

    public static float BF16(ushort* w, ushort* a, int n) => Dot(w, a, n, bf16: true);

    private static float Dot(ushort* w, ushort* a, int n, bool bf16)
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

    private static Vector512<float> Widen(ushort* p, bool bf16)
    {
        var wide = Avx512F.ConvertToVector512UInt32(Vector256.Load(p));
        var high = Avx512F.ShiftLeftLogical(wide, 16);
        return bf16 ? high.AsSingle() : HalfWidening.Exact(high);
    }

    private static float ToFloat(ushort bits, bool bf16) =>
        bf16 ? BitConverter.Int32BitsToSingle(bits << 16) : (float)BitConverter.UInt16BitsToHalf(bits);
}
