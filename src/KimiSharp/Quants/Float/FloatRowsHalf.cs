using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// F16 mat-vec on AVX-512: two weight rows per pass against one activation row, each row summed exactly as
/// <see cref="HalfDot.Avx512"/> (= ggml_vec_dot_f16): the same 64 lane sums in the same even/odd layout, the same
/// combination, reduction and double leftovers, so every output is bit-identical.
/// <para>The widening is split so that the activation's share is paid once per call. vpmaddwd by 2^13 puts a half's
/// sign-extended bits at 28–13; clearing bits 30–28 leaves sign, 5-bit exponent and mantissa where a float has them,
/// i.e. the float h·2^−112, exact for <i>every</i> finite half (zeros and subnormals become float zeros and
/// subnormals). Weights are widened this way per row (2 ops per 16 lanes); the activation row once per call to
/// (the same)·2^224 = a·2^112, so each product w·2^−112 · a·2^112 is exactly w·a, as vcvtph2ps gives it. Only halves
/// with exponent 31 (Inf, NaN) come out wrong: an activation row holding one goes row by row through
/// <see cref="HalfDot.Avx512"/>, and each pass tracks its weights' largest halves and redoes a pair holding one.</para>
/// <para>Rows go in blocks of <see cref="BlockRows"/>; rows longer than <see cref="MaxChunkElements"/> in chunks: the
/// block's pairs take turns over one chunk of the widened activations (each pair's accumulators parked in memory between
/// chunks), so the chunk stays in cache. Each row still runs through its steps in order, so chunking changes no sum.</para>
/// </summary>
internal static unsafe class FloatRowsHalf
{
    /// <summary>Rows per pass.</summary>
    public const int Rows = 2;

    private const int Step = HalfDot.Step;

    /// <summary>Rows whose passes take turns over one chunk of the activations.</summary>
    private const int BlockRows = 16;

    /// <summary>
    /// Rows up to this long go whole (16 KiB of widened activations, which stay in cache while a block uses them); longer
    /// ones in equal chunks no longer than this. (7168-wide rows whole: 0.8–0.88x ggml's vec_dot; in chunks of 3584:
    /// 0.97–1.09x; chunks of 2048, 1024 or 512, or blocks of 4 or 8 rows, measured slower.)
    /// </summary>
    private const int MaxChunkElements = 4096;

    /// <summary>Per pair of rows between chunks: 8 accumulators, the signed and the unsigned word maxima.</summary>
    private const int StateVectors = 10;

    /// <summary>Bits 30–28 cleared: with the sign-extended vpmaddwd output, the float h·2^−112.</summary>
    private const uint KeepSignExponentMantissa = 0x8FFFFFFFu;

    /// <summary>2^112, the float bits.</summary>
    private const uint TwoTo112 = (127u + 112u) << 23;

    /// <summary>Activations widened once per call (a buffer per thread): four 16-float vectors per 64-element step.</summary>
    [ThreadStatic]
    private static float[]? widened;

    /// <summary>dst[r] = <see cref="HalfDot.Avx512"/>(row r, a, n) for r &lt; rows (needs AVX-512BW).</summary>
    public static void Dot(ushort* w, long rowBytes, ushort* a, int n, float* dst, int rows)
    {
        int np = n & ~(Step - 1);
        if (np == 0 || rows < 2)
        {
            OneByOne(w, rowBytes, a, n, dst, 0, rows);
            return;
        }
        if (widened == null || widened.Length < np)
            widened = GC.AllocateUninitializedArray<float>(Math.Max(np, 4096), pinned: true);
        fixed (float* af = widened)
        {
            if (!WidenActivations(a, np, af))
            {
                OneByOne(w, rowBytes, a, n, dst, 0, rows);
                return;
            }
            int chunks = (np + MaxChunkElements - 1) / MaxChunkElements;
            int chunk = (np / Step + chunks - 1) / chunks * Step; // equal chunks of whole steps
            ChunkedRows(w, rowBytes, a, n, np, chunk, af, dst, rows);
        }
    }

    /// <summary>Blocks of <see cref="BlockRows"/> rows; the block's pairs take turns over each chunk of the activations (rows up to <see cref="MaxChunkElements"/> are one chunk).</summary>
    private static void ChunkedRows(ushort* w, long rowBytes, ushort* a, int n, int np, int chunk, float* af, float* dst, int rows)
    {
        const int pairsPerBlock = BlockRows / Rows;
        var state = stackalloc Vector512<float>[StateVectors * pairsPerBlock];
        int r = 0;
        while (rows - r >= Rows)
        {
            int pairs = Math.Min(pairsPerBlock, (rows - r) / Rows);
            for (int c = 0; c < np; c += chunk)
                for (int p = 0; p < pairs; p++)
                {
                    ushort* w0 = (ushort*)((byte*)w + (r + Rows * p) * rowBytes);
                    Two(w0, (ushort*)((byte*)w0 + rowBytes), af, c, Math.Min(np, c + chunk), state + p * StateVectors);
                }
            for (int p = 0; p < pairs; p++, r += Rows)
            {
                var st = state + p * StateVectors;
                if (HasExponent31(st[8].AsInt16(), st[9].AsUInt16()))
                {
                    OneByOne(w, rowBytes, a, n, dst, r, r + Rows); // a weight is Inf or NaN
                    continue;
                }
                ushort* w0 = (ushort*)((byte*)w + r * rowBytes);
                dst[r] = HalfDot.AddLeftovers(Reduce(st[0], st[1], st[2], st[3]), w0, a, np, n);
                dst[r + 1] = HalfDot.AddLeftovers(Reduce(st[4], st[5], st[6], st[7]), (ushort*)((byte*)w0 + rowBytes), a, np, n);
            }
        }
        OneByOne(w, rowBytes, a, n, dst, r, rows);
    }

    private static void OneByOne(ushort* w, long rowBytes, ushort* a, int n, float* dst, int from, int to)
    {
        for (int r = from; r < to; r++)
            dst[r] = HalfDot.Avx512((ushort*)((byte*)w + r * rowBytes), a, n);
    }

    /// <summary>af = a·2^112 in the even/odd layout, per step [even 0–31, odd 0–31, even 32–63, odd 32–63]; false if a half is Inf or NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool WidenActivations(ushort* a, int np, float* af)
    {
        var pickLow = HalfWidening.PickLow;
        var pickHigh = HalfWidening.PickHigh;
        var keep = Vector512.Create(KeepSignExponentMantissa);
        var scale = Vector512.Create(TwoTo112).AsSingle();
        Vector512<short> maxSigned = Vector512.Create(short.MinValue);
        Vector512<ushort> maxUnsigned = Vector512<ushort>.Zero;
        for (int i = 0; i < np; i += 32, af += 32)
        {
            var y = Vector512.Load((uint*)(a + i));
            maxSigned = Vector512.Max(maxSigned, y.AsInt16());
            maxUnsigned = Vector512.Max(maxUnsigned, y.AsUInt16());
            (Widen(y, pickLow, keep) * scale * scale).Store(af);
            (Widen(y, pickHigh, keep) * scale * scale).Store(af + 16);
        }
        return !HasExponent31(maxSigned, maxUnsigned);
    }

    /// <summary>The halves <paramref name="pick"/> selects as floats h·2^−112 (exact unless h is Inf or NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Widen(Vector512<uint> pairs, Vector512<short> pick, Vector512<uint> keep) =>
        (Avx512BW.MultiplyAddAdjacent(pairs.AsInt16(), pick).AsUInt32() & keep).AsSingle();

    /// <summary>
    /// Whether any half seen has exponent 31, from the running signed and unsigned word maxima: a positive one is a
    /// signed word ≥ 0x7C00, a negative one an unsigned word ≥ 0xFC00.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool HasExponent31(Vector512<short> maxSigned, Vector512<ushort> maxUnsigned) =>
        Vector512.GreaterThanOrEqualAny(maxSigned, Vector512.Create((short)0x7C00)) ||
        Vector512.GreaterThanOrEqualAny(maxUnsigned, Vector512.Create((ushort)0xFC00));

    /// <summary>
    /// Steps [from, to) of two rows' dots, parked in st (8 accumulators, the two word maxima) and resumed from there
    /// unless from is 0. (The first chunk starts in registers: loading state just cleared with narrower stores stalls
    /// on store forwarding, which cost 10–15%. Four rows per pass, 16 accumulators, measured no faster.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Two(ushort* w0, ushort* w1, float* af, int from, int to, Vector512<float>* st)
    {
        var pickLow = HalfWidening.PickLow;
        var pickHigh = HalfWidening.PickHigh;
        var keep = Vector512.Create(KeepSignExponentMantissa);
        Vector512<float> e00 = default, o00 = default, e01 = default, o01 = default;
        Vector512<float> e10 = default, o10 = default, e11 = default, o11 = default;
        Vector512<short> maxSigned = Vector512.Create(short.MinValue);
        Vector512<ushort> maxUnsigned = default;
        if (from > 0)
        {
            // resume (state written at the end of the previous chunk, long since)
            e00 = st[0]; o00 = st[1]; e01 = st[2]; o01 = st[3];
            e10 = st[4]; o10 = st[5]; e11 = st[6]; o11 = st[7];
            maxSigned = st[8].AsInt16();
            maxUnsigned = st[9].AsUInt16();
        }
        af += from;
        for (int i = from; i < to; i += Step, af += Step)
        {
            var aE0 = Vector512.Load(af);
            var aO0 = Vector512.Load(af + 16);
            var aE1 = Vector512.Load(af + 32);
            var aO1 = Vector512.Load(af + 48);

            var x0 = Vector512.Load((uint*)(w0 + i));
            var x1 = Vector512.Load((uint*)(w0 + i + 32));
            e00 = Avx512F.FusedMultiplyAdd(Widen(x0, pickLow, keep), aE0, e00);
            o00 = Avx512F.FusedMultiplyAdd(Widen(x0, pickHigh, keep), aO0, o00);
            e01 = Avx512F.FusedMultiplyAdd(Widen(x1, pickLow, keep), aE1, e01);
            o01 = Avx512F.FusedMultiplyAdd(Widen(x1, pickHigh, keep), aO1, o01);
            var maxS = Vector512.Max(x0.AsInt16(), x1.AsInt16());
            var maxU = Vector512.Max(x0.AsUInt16(), x1.AsUInt16());

            x0 = Vector512.Load((uint*)(w1 + i));
            x1 = Vector512.Load((uint*)(w1 + i + 32));
            e10 = Avx512F.FusedMultiplyAdd(Widen(x0, pickLow, keep), aE0, e10);
            o10 = Avx512F.FusedMultiplyAdd(Widen(x0, pickHigh, keep), aO0, o10);
            e11 = Avx512F.FusedMultiplyAdd(Widen(x1, pickLow, keep), aE1, e11);
            o11 = Avx512F.FusedMultiplyAdd(Widen(x1, pickHigh, keep), aO1, o11);
            maxSigned = Vector512.Max(maxSigned, Vector512.Max(maxS, Vector512.Max(x0.AsInt16(), x1.AsInt16())));
            maxUnsigned = Vector512.Max(maxUnsigned, Vector512.Max(maxU, Vector512.Max(x0.AsUInt16(), x1.AsUInt16())));
        }
        st[0] = e00; st[1] = o00; st[2] = e01; st[3] = o01;
        st[4] = e10; st[5] = o10; st[6] = e11; st[7] = o11;
        st[8] = maxSigned.AsSingle(); st[9] = maxUnsigned.AsSingle();
    }

    /// <summary><see cref="HalfDot.Avx512"/>'s combination: (acc0 + acc2) + (acc1 + acc3) in even/odd lanes, then the halving reduction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce(Vector512<float> even0, Vector512<float> odd0, Vector512<float> even1, Vector512<float> odd1)
    {
        var even = even0 + even1;
        var odd = odd0 + odd1;
        return EvenOddReduction.Reduce(even.GetLower() + even.GetUpper(), odd.GetLower() + odd.GetUpper());
    }
}
