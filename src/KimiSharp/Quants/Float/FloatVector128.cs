using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KimiSharp.Quants;

/// <summary>
/// Portable Vector128 dot products of the float formats (NEON on ARM64, SSE on x86), for CPUs without AVX2.
/// 16 elements per step in four float accumulators; the n mod 16 leftovers are float products added in double
/// (as the scalar paths do). F16 and BF16 rows are read as 32-bit lanes of two elements each, kept in an even/odd
/// layout (see <see cref="HalfWidening"/>), so no shuffles are needed.
/// </summary>
internal static unsafe class FloatVector128
{
    private const int Step = 16;

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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float BF16(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        Vector128<float> even0 = default, odd0 = default, even1 = default, odd1 = default;
        var high = Vector128.Create(0xFFFF0000u);
        for (int i = 0; i < np; i += Step)
        {
            var x0 = Vector128.Load((uint*)(x + i));
            var y0 = Vector128.Load((uint*)(y + i));
            var x1 = Vector128.Load((uint*)(x + i + 8));
            var y1 = Vector128.Load((uint*)(y + i + 8));
            // a bfloat16 is the top half of a float: even element = lane << 16, odd = lane & 0xFFFF0000
            even0 = Vector128.MultiplyAddEstimate((x0 << 16).AsSingle(), (y0 << 16).AsSingle(), even0);
            odd0 = Vector128.MultiplyAddEstimate((x0 & high).AsSingle(), (y0 & high).AsSingle(), odd0);
            even1 = Vector128.MultiplyAddEstimate((x1 << 16).AsSingle(), (y1 << 16).AsSingle(), even1);
            odd1 = Vector128.MultiplyAddEstimate((x1 & high).AsSingle(), (y1 & high).AsSingle(), odd1);
        }
        double sum = Vector128.Sum((even0 + even1) + (odd0 + odd1));
        for (int i = np; i < n; i++)
            sum += Fp16.BF16ToFloat(x[i]) * Fp16.BF16ToFloat(y[i]);
        return (float)sum;
    }

    /// <summary>
    /// F16·F16. A step whose 32 halves are all normal uses the scaled widening of <see cref="HalfWidening"/> (floats whose
    /// product is exactly the product of the halves, a few integer ops); a step holding a zero, subnormal, Inf or NaN
    /// converts exactly (<see cref="Exact"/>, bit for bit as <see cref="Fp16.ToFloat"/>). Products of halves are exact
    /// in float either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16(ushort* x, ushort* y, int n)
    {
        int np = n & ~(Step - 1);
        Vector128<float> even0 = default, odd0 = default, even1 = default, odd1 = default;
        var one = Vector128.Create((ushort)0x0400);
        var field = Vector128.Create((ushort)0x7800);
        var biasBits = Vector128.Create(HalfWidening.BiasBits);
        for (int i = 0; i < np; i += Step)
        {
            var x0 = Vector128.Load((uint*)(x + i));
            var y0 = Vector128.Load((uint*)(y + i));
            var x1 = Vector128.Load((uint*)(x + i + 8));
            var y1 = Vector128.Load((uint*)(y + i + 8));
            // (exponent field + 1) & 0b11110 per half is 0 iff the field is 0 or 31
            var cls = Vector128.Min(Vector128.Min((x0.AsUInt16() + one) & field, (x1.AsUInt16() + one) & field),
                Vector128.Min((y0.AsUInt16() + one) & field, (y1.AsUInt16() + one) & field));
            if (!Vector128.EqualsAny(cls, Vector128<ushort>.Zero))
            {
                (even0, odd0) = AccumulateNormal(x0, y0, even0, odd0, biasBits);
                (even1, odd1) = AccumulateNormal(x1, y1, even1, odd1, biasBits);
            }
            else
            {
                even0 = Vector128.MultiplyAddEstimate(Exact(x0 << 16), Exact(y0 << 16), even0);
                odd0 = Vector128.MultiplyAddEstimate(ExactHigh(x0), ExactHigh(y0), odd0);
                even1 = Vector128.MultiplyAddEstimate(Exact(x1 << 16), Exact(y1 << 16), even1);
                odd1 = Vector128.MultiplyAddEstimate(ExactHigh(x1), ExactHigh(y1), odd1);
            }
        }
        double sum = Vector128.Sum((even0 + even1) + (odd0 + odd1));
        for (int i = np; i < n; i++)
            sum += Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
        return (float)sum;
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
