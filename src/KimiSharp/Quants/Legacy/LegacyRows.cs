using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// One 32-wide legacy block format, as the multi-row kernel in <see cref="LegacyRows"/> needs it: where its fields are and
/// the eight integer lanes (each Σ of 4 products) of one weight block against the activation block's 32 bytes.
/// </summary>
internal unsafe interface ILegacyBlock
{
    /// <summary>Bytes of one weight block.</summary>
    static abstract int WeightBytes { get; }

    /// <summary>Bytes of one activation block (Q8_0: 34; Q8_1, which also carries d·Σq: 36).</summary>
    static abstract int ActivationBytes { get; }

    /// <summary>Whether the weight block has a min m (Q4_1/Q5_1): then Σ m·s is added after the lane sum, as ggml does.</summary>
    static abstract bool HasMin { get; }

    /// <summary>The part of the lanes that depends only on the activations (computed once per block for all rows).</summary>
    static abstract Vector256<int> ActivationTerm(Vector256<sbyte> q8);

    /// <summary>The block's integer lanes, given the activation term.</summary>
    static abstract Vector256<int> Lanes(byte* w, Vector256<sbyte> q8, Vector256<int> activationTerm);
}

/// <summary>
/// Mat-vec for the 32-wide legacy types: four weight rows against one activation row at once. Each row keeps its own
/// single FMA chain in block order — exactly its vec_dot's operations, so every output is bit-identical to
/// <c>VecDot</c> (and to ggml's) — but four independent chains hide the FMA latency that bounds one row's vec_dot, and
/// the activation block is loaded once for all four.
/// </summary>
internal static unsafe class LegacyRows
{
    public const int Rows = 4;

    /// <summary>dst[r] = vec_dot(row r, a) for r &lt; rows; rows in groups of <see cref="Rows"/>, the rest one at a time.</summary>
    public static void Dot<T>(byte* w, long rowBytes, byte* a, int n, float* dst, int rows, delegate*<byte*, byte*, int, float> single)
        where T : ILegacyBlock
    {
        int r = 0;
        for (; r + Rows <= rows; r += Rows)
            Four<T>(w + r * rowBytes, rowBytes, a, n, dst + r);
        for (; r < rows; r++)
            dst[r] = single(w + r * rowBytes, a, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Four<T>(byte* w0, long rowBytes, byte* a, int n, float* dst) where T : ILegacyBlock
    {
        float* f16 = Fp16.TablePointer;
        byte* w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
        long nextGroup = Rows * rowBytes;
        int qs = T.ActivationBytes - 32;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        float min0 = 0, min1 = 0, min2 = 0, min3 = 0;
        for (int b = 0; b < n / 32; b++, a += T.ActivationBytes, w0 += T.WeightBytes, w1 += T.WeightBytes, w2 += T.WeightBytes, w3 += T.WeightBytes)
        {
            // the next group of rows, same block: the hardware prefetcher follows each row's stream into the row after it,
            // so without this three of the next group's rows would start with cold misses
            if ((b & 1) == 0)
            {
                Sse.Prefetch0(w0 + nextGroup);
                Sse.Prefetch0(w1 + nextGroup);
                Sse.Prefetch0(w2 + nextGroup);
                Sse.Prefetch0(w3 + nextGroup);
            }
            var q8 = Avx.LoadVector256((sbyte*)(a + qs));
            var term = T.ActivationTerm(q8);
            float da = f16[*(ushort*)a];
            acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w0] * da), Avx.ConvertToVector256Single(T.Lanes(w0, q8, term)), acc0);
            acc1 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w1] * da), Avx.ConvertToVector256Single(T.Lanes(w1, q8, term)), acc1);
            acc2 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w2] * da), Avx.ConvertToVector256Single(T.Lanes(w2, q8, term)), acc2);
            acc3 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w3] * da), Avx.ConvertToVector256Single(T.Lanes(w3, q8, term)), acc3);
            if (T.HasMin)
            {
                float s = f16[*(ushort*)(a + 2)];
                min0 += f16[*(ushort*)(w0 + 2)] * s;
                min1 += f16[*(ushort*)(w1 + 2)] * s;
                min2 += f16[*(ushort*)(w2 + 2)] * s;
                min3 += f16[*(ushort*)(w3 + 2)] * s;
            }
        }
        dst[0] = T.HasMin ? SimdOps.HorizontalSum(acc0) + min0 : SimdOps.HorizontalSum(acc0);
        dst[1] = T.HasMin ? SimdOps.HorizontalSum(acc1) + min1 : SimdOps.HorizontalSum(acc1);
        dst[2] = T.HasMin ? SimdOps.HorizontalSum(acc2) + min2 : SimdOps.HorizontalSum(acc2);
        dst[3] = T.HasMin ? SimdOps.HorizontalSum(acc3) + min3 : SimdOps.HorizontalSum(acc3);
    }
}

/// <summary>Q8_0 (d, qs[32]) against Q8_0: Σ w·a of signed bytes.</summary>
internal readonly unsafe struct Q8_0Block : ILegacyBlock
{
    public static int WeightBytes => 34;
    public static int ActivationBytes => 34;
    public static bool HasMin => false;
    public static Vector256<int> ActivationTerm(Vector256<sbyte> q8) => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Lanes(byte* w, Vector256<sbyte> q8, Vector256<int> term) =>
        SimdOps.DotS8S8(Avx.LoadVector256((sbyte*)(w + 2)), q8);
}

/// <summary>Q4_0 (d, 16 bytes of nibbles; value q − 8) against Q8_0: Σ q·a − Σ 8·a.</summary>
internal readonly unsafe struct Q4_0Block : ILegacyBlock
{
    public static int WeightBytes => 18;
    public static int ActivationBytes => 34;
    public static bool HasMin => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> ActivationTerm(Vector256<sbyte> q8) => SimdOps.DotU8S8(Vector256.Create((byte)8), q8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Lanes(byte* w, Vector256<sbyte> q8, Vector256<int> term) =>
        Avx2.Subtract(SimdOps.DotU8S8(SimdOps.Nibbles16(w + 2), q8), term);
}

/// <summary>Q4_1 (d, m, nibbles) against Q8_1: Σ q·a, then m·s added separately.</summary>
internal readonly unsafe struct Q4_1Block : ILegacyBlock
{
    public static int WeightBytes => 20;
    public static int ActivationBytes => 36;
    public static bool HasMin => true;
    public static Vector256<int> ActivationTerm(Vector256<sbyte> q8) => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Lanes(byte* w, Vector256<sbyte> q8, Vector256<int> term) =>
        SimdOps.DotU8S8(SimdOps.Nibbles16(w + 4), q8);
}

/// <summary>Q5_0 (d, qh, nibbles; value q − 16) against Q8_0: Σ q·a − Σ 16·a.</summary>
internal readonly unsafe struct Q5_0Block : ILegacyBlock
{
    public static int WeightBytes => 22;
    public static int ActivationBytes => 34;
    public static bool HasMin => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> ActivationTerm(Vector256<sbyte> q8) => SimdOps.DotU8S8(Vector256.Create((byte)16), q8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Lanes(byte* w, Vector256<sbyte> q8, Vector256<int> term) =>
        Avx2.Subtract(SimdOps.DotU8S8(
            Avx2.Or(SimdOps.Nibbles16(w + 6), Avx2.And(SimdOps.BitsToBytes(*(uint*)(w + 2)), Vector256.Create((byte)16))), q8), term);
}

/// <summary>Q5_1 (d, m, qh, nibbles) against Q8_1: Σ q·a, then m·s added separately.</summary>
internal readonly unsafe struct Q5_1Block : ILegacyBlock
{
    public static int WeightBytes => 24;
    public static int ActivationBytes => 36;
    public static bool HasMin => true;
    public static Vector256<int> ActivationTerm(Vector256<sbyte> q8) => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Lanes(byte* w, Vector256<sbyte> q8, Vector256<int> term) =>
        SimdOps.DotU8S8(Avx2.Or(SimdOps.Nibbles16(w + 8), Avx2.And(SimdOps.BitsToBytes(*(uint*)(w + 4)), Vector256.Create((byte)16))), q8);
}
