using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KimiSharp.Quants;

/// <summary>
/// Portable Vector128 dot products of the float formats (NEON on ARM64, SSE on x86), for CPUs without AVX2.
/// F32: 16 elements per step in four float accumulators, the n mod 16 leftovers added in double. F16 and BF16 sum in
/// ggml-cpu's own order, as their scalar paths do (bit-identical to them and to ggml); their rows are read as 32-bit
/// lanes of two elements each, kept in an even/odd layout (see <see cref="HalfWidening"/>), so no shuffles are needed.
/// </summary>
internal static unsafe class FloatVector128
{
    private const int Step = 16;

    /// <summary>F32·F32 (not ggml's order: the scalar reference sums in double).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F32(float* x, float* y, int n)
    {
        int np = n & ~(Step - 1);
        Vector128<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int i = 0; i < np; i += Step)
        {
            acc0 = Vector128.MultiplyAddEstimate(Vector128.Load(x + i), Vector128.Load(y + i), acc0);
            acc1 = Vector128.MultiplyAddEstimate(Vector128.Load(x + i + 4), Vector128.Load(y + i + 4), acc1);
            acc2 = Vector128.MultiplyAddEstimate(Vector128.Load(x + i + 8), Vector128.Load(y + i + 8), acc2);
            acc3 = Vector128.MultiplyAddEstimate(Vector128.Load(x + i + 12), Vector128.Load(y + i + 12), acc3);
        }
        double sum = Vector128.Sum((acc0 + acc2) + (acc1 + acc3));
        for (int i = np; i < n; i++)
            sum += x[i] * y[i];
        return (float)sum;
    }

    /// <summary>
    /// BF16·BF16 in ggml_vec_dot_bf16's order (see <see cref="BFloat16Dot"/>): 32 lane sums over 32-wide steps (lane j
    /// takes elements 32s + j), FMA; lanes 0–15 and 16–31 each reduced by halving, added to a double, then the
    /// leftovers. A product of two bfloat16s is exact in float, so mul+add (machines without FMA) rounds the same
    /// unless a product underflows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float BF16(ushort* x, ushort* y, int n)
    {
        const int step = BFloat16Dot.Step;
        int np = n & ~(step - 1);
        // e_m lane l: element 8m + 2l of a step; o_m lane l: element 8m + 2l + 1
        Vector128<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
        var high = Vector128.Create(0xFFFF0000u);
        for (int i = 0; i < np; i += step)
        {
            (e0, o0) = BF16Pairs(x + i, y + i, e0, o0, high);
            (e1, o1) = BF16Pairs(x + i + 8, y + i + 8, e1, o1, high);
            (e2, o2) = BF16Pairs(x + i + 16, y + i + 16, e2, o2, high);
            (e3, o3) = BF16Pairs(x + i + 24, y + i + 24, e3, o3, high);
        }
        float* lanes = stackalloc float[step];
        Interleave(lanes, e0, o0);
        Interleave(lanes + 8, e1, o1);
        Interleave(lanes + 16, e2, o2);
        Interleave(lanes + 24, e3, o3);
        double sum = 0.0;
        sum += HalvingSum16(lanes);
        sum += HalvingSum16(lanes + 16);
        for (int i = np; i < n; i++)
            sum += Fp16.BF16ToFloat(x[i]) * Fp16.BF16ToFloat(y[i]);
        return (float)sum;
    }

    /// <summary>even/odd += the 8 products of 8 bfloat16s (a bfloat16 is the top half of a float: even = lane &lt;&lt; 16, odd = lane &amp; 0xFFFF0000).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<float> Even, Vector128<float> Odd) BF16Pairs(ushort* x, ushort* y, Vector128<float> even, Vector128<float> odd, Vector128<uint> high)
    {
        var xs = Vector128.Load((uint*)x);
        var ys = Vector128.Load((uint*)y);
        return (Vector128.MultiplyAddEstimate((xs << 16).AsSingle(), (ys << 16).AsSingle(), even),
            Vector128.MultiplyAddEstimate((xs & high).AsSingle(), (ys & high).AsSingle(), odd));
    }

    /// <summary>
    /// F16·F16 in ggml_vec_dot_f16's order (see <see cref="HalfDot"/>): 64 lane sums over 64-wide steps (lane j takes
    /// elements 64s + j), combined (j, j+32) + (j+16, j+48), reduced by halving, widened to double, then the leftovers.
    /// Products of halves are exact in float, so FMA and mul+add agree. A 16-element group whose 32 halves are all
    /// normal uses the scaled widening of <see cref="HalfWidening"/> (a few integer ops); one holding a zero,
    /// subnormal, Inf or NaN converts exactly (<see cref="Exact"/>, bit for bit as <see cref="Fp16.ToFloat"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16(ushort* x, ushort* y, int n)
    {
        const int step = HalfDot.Step;
        int np = n & ~(step - 1);
        // e_m lane l: element 8m + 2l of a step; o_m lane l: element 8m + 2l + 1
        Vector128<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
        Vector128<float> e4 = default, o4 = default, e5 = default, o5 = default, e6 = default, o6 = default, e7 = default, o7 = default;
        for (int i = 0; i < np; i += step)
        {
            (e0, o0, e1, o1) = F16Group(x + i, y + i, e0, o0, e1, o1);
            (e2, o2, e3, o3) = F16Group(x + i + 16, y + i + 16, e2, o2, e3, o3);
            (e4, o4, e5, o5) = F16Group(x + i + 32, y + i + 32, e4, o4, e5, o5);
            (e6, o6, e7, o7) = F16Group(x + i + 48, y + i + 48, e6, o6, e7, o7);
        }
        float* acc = stackalloc float[step];
        Interleave(acc, e0, o0);
        Interleave(acc + 8, e1, o1);
        Interleave(acc + 16, e2, o2);
        Interleave(acc + 24, e3, o3);
        Interleave(acc + 32, e4, o4);
        Interleave(acc + 40, e5, o5);
        Interleave(acc + 48, e6, o6);
        Interleave(acc + 56, e7, o7);
        float* lanes = stackalloc float[16];
        for (int j = 0; j < 16; j++)
            lanes[j] = (acc[j] + acc[32 + j]) + (acc[16 + j] + acc[48 + j]);
        float reduced = HalvingSum16(lanes);
        if (np == n)
            return reduced;
        double sum = reduced;
        for (int i = np; i < n; i++)
            sum += Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
        return (float)sum;
    }

    /// <summary>Accumulates 16 elements (two vectors of 8 halves) of x·y into two even/odd accumulator pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<float> E0, Vector128<float> O0, Vector128<float> E1, Vector128<float> O1) F16Group(
        ushort* x, ushort* y, Vector128<float> e0, Vector128<float> o0, Vector128<float> e1, Vector128<float> o1)
    {
        var x0 = Vector128.Load((uint*)x);
        var y0 = Vector128.Load((uint*)y);
        var x1 = Vector128.Load((uint*)(x + 8));
        var y1 = Vector128.Load((uint*)(y + 8));
        // (exponent field + 1) & 0b11110 per half is 0 iff the field is 0 or 31
        var one = Vector128.Create((ushort)0x0400);
        var field = Vector128.Create((ushort)0x7800);
        var cls = Vector128.Min(Vector128.Min((x0.AsUInt16() + one) & field, (x1.AsUInt16() + one) & field),
            Vector128.Min((y0.AsUInt16() + one) & field, (y1.AsUInt16() + one) & field));
        if (!Vector128.EqualsAny(cls, Vector128<ushort>.Zero))
        {
            var biasBits = Vector128.Create(HalfWidening.BiasBits);
            (e0, o0) = AccumulateNormal(x0, y0, e0, o0, biasBits);
            (e1, o1) = AccumulateNormal(x1, y1, e1, o1, biasBits);
            return (e0, o0, e1, o1);
        }
        return (Vector128.MultiplyAddEstimate(Exact(x0 << 16), Exact(y0 << 16), e0),
            Vector128.MultiplyAddEstimate(ExactHigh(x0), ExactHigh(y0), o0),
            Vector128.MultiplyAddEstimate(Exact(x1 << 16), Exact(y1 << 16), e1),
            Vector128.MultiplyAddEstimate(ExactHigh(x1), ExactHigh(y1), o1));
    }

    /// <summary>Writes 8 lane sums in element order: dst[2l] = even[l], dst[2l + 1] = odd[l].</summary>
    private static void Interleave(float* dst, Vector128<float> even, Vector128<float> odd)
    {
        for (int l = 0; l < 4; l++)
        {
            dst[2 * l] = even.GetElement(l);
            dst[2 * l + 1] = odd.GetElement(l);
        }
    }

    /// <summary>_mm512_reduce_add_ps of 16 lanes: s_j += s_{j+8}, then j+4, j+2, j+1 (the order the scalar paths use).</summary>
    private static float HalvingSum16(float* lanes)
    {
        float* s = stackalloc float[16];
        for (int j = 0; j < 16; j++) s[j] = lanes[j];
        for (int width = 8; width >= 1; width /= 2)
            for (int j = 0; j < width; j++)
                s[j] += s[j + width];
        return s[0];
    }

    /// <summary>even/odd += the 8 products of x and y, all of them normal halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<float> Even, Vector128<float> Odd) AccumulateNormal(Vector128<uint> x, Vector128<uint> y, Vector128<float> even, Vector128<float> odd, Vector128<uint> biasBits)
    {
        var lowMask = Vector128.Create(0xFFFFE000u);
        // sign-extended half · 2^13: even half from the low 16 bits, odd half from the high 16 bits
        var yEven = ((y << 16).AsInt32() >> 3).AsUInt32();
        var xEven = ((x << 16).AsInt32() >> 3).AsUInt32();
        var yOdd = (y.AsInt32() >> 3).AsUInt32() & lowMask;
        var xOdd = (x.AsInt32() >> 3).AsUInt32() & lowMask;
        even = Vector128.MultiplyAddEstimate(Rebias(xEven, yEven, biasBits), yEven.AsSingle(), even);
        odd = Vector128.MultiplyAddEstimate(Rebias(xOdd, yOdd, biasBits), yOdd.AsSingle(), odd);
        return (even, odd);
    }

    /// <summary>
    /// Read as a float, a scaled half (sign-extended · 2^13) is its value · 2^−112 when positive and · 2^112 when
    /// negative (bits 30–28 copy the sign). Setting the weight's bits 30–28 to the NOT of the activation's gives it the
    /// opposite factor, so the float product is exactly the product of the halves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Rebias(Vector128<uint> weight, Vector128<uint> activation, Vector128<uint> biasBits) =>
        (Vector128.AndNot(weight, biasBits) | Vector128.AndNot(biasBits, activation)).AsSingle();

    /// <summary>The odd (high) halves of each lane, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> ExactHigh(Vector128<uint> pairs) => Exact(pairs & Vector128.Create(0xFFFF0000u));

    /// <summary>
    /// Halves held in bits 16–31 (bits 0–15 zero) → floats, as <see cref="HalfWidening.Exact(Vector256{uint})"/>:
    /// normal/Inf/NaN: exponent rebias by +224 then ·2^−112 (Inf/NaN land on exponent 255; the multiply quiets a
    /// signalling NaN, payload kept); zero/subnormal: mantissa under the exponent of 0.5, minus 0.5. The sign is or'ed back.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Exact(Vector128<uint> w)
    {
        var sign = w & Vector128.Create(0x80000000u);
        var twoW = w + w;
        var normalized = ((twoW >>> 4) + Vector128.Create(0x70000000u)).AsSingle() * Vector128.Create(0x07800000u).AsSingle();
        var denormalized = ((twoW >>> 17) | Vector128.Create(0x3F000000u)).AsSingle() - Vector128.Create(0.5f);
        var isDenormal = Vector128.LessThan(twoW, Vector128.Create(1u << 27)).AsSingle();
        return (Vector128.ConditionalSelect(isDenormal, denormalized, normalized).AsUInt32() | sign).AsSingle();
    }
}
