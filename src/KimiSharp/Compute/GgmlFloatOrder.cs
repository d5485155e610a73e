using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KimiSharp.Compute;

/// <summary>
/// F32 reductions in exactly the order ggml-cpu performs them, so attention reproduces llama.cpp's results bit for bit
/// (a sum's rounding depends on its order; the MoE router then amplifies any difference). The public entry points
/// follow the build LLamaSharp loads here (<see cref="Quants.GgmlCpuVariant"/>): this file is the AVX-512 build's order,
/// the other part the AVX2 build's.
/// A 16-lane register is held as two <see cref="Vector256{T}"/> halves (lanes 0–7 and 8–15): element-wise FMA and
/// add round the same either way, and the pair runs on AVX2 machines too.
/// <list type="bullet">
/// <item><b>Lane reduction</b> (_mm512_reduce_add_ps): halving, s_i = a_i + a_{i+8}, then i+4, then i+2, then i+1.</item>
/// <item><b>ggml_vec_dot_f32</b>: four 16-lane FMA accumulators over 64-wide steps, combined (a0+a2)+(a1+a3), reduced,
/// then the n mod 64 leftovers added one at a time in float (see <see cref="Dot"/> for which are fused).</item>
/// <item><b>tinyBLAS</b> (llamafile sgemm, F32, used for batched mat-mul when k is a multiple of 16): one 16-lane FMA
/// accumulator per output, reduced.</item>
/// <item><b>ggml_vec_soft_max_f32</b>: exp by ggml_v_expf 16 lanes at a time, each chunk's reduced sum added to a
/// double; a tail shorter than 16 uses libm expf.</item>
/// </list>
/// </summary>
public static unsafe partial class GgmlFloatOrder
{
    // ggml_v_expf's constants (hexadecimal float literals in C): 1.5·2²³, log2 e, ln 2 in two parts, polynomial.
    private static readonly float C5 = BitConverter.Int32BitsToSingle(0x3C072010); // 0x1.0e4020p-7
    private static readonly float C3 = BitConverter.Int32BitsToSingle(0x3E2AAF33); // 0x1.555e66p-3
    private static readonly float C4 = BitConverter.Int32BitsToSingle(0x3D2B9F17); // 0x1.573e2ep-5
    private static readonly float Ln2High = BitConverter.Int32BitsToSingle(0x3F317200); // 0x1.62e4p-1
    private static readonly float Log2E = BitConverter.Int32BitsToSingle(0x3FB8AA3B); // 0x1.715476p+0
    private static readonly float Ln2Low = BitConverter.Int32BitsToSingle(0x35BFBE8E); // 0x1.7f7d1cp-20
    private static readonly float RoundingBias = BitConverter.Int32BitsToSingle(0x4B400000); // 0x1.8p23
    private static readonly float C2 = BitConverter.Int32BitsToSingle(0x3EFFFEDB); // 0x1.fffdb6p-2
    private static readonly float C1 = BitConverter.Int32BitsToSingle(0x3F7FFFF6); // 0x1.ffffecp-1

    /// <summary>Lanes of the emulated register.</summary>
    public const int Lanes = 16;

    /// <summary>Floats reduced per step of <see cref="Dot"/> (four accumulators of 16 lanes).</summary>
    public const int DotStep = 64;

    /// <summary>a·b + c with one rounding: the FMA instruction where present (the generic Vector256/512 API falls back to
    /// a per-element software loop in .NET 10), else the exact software fallback.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Fma256(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(a, b, c) : Vector256.FusedMultiplyAdd(a, b, c);

    /// <summary>a·b + c with one rounding on 512-bit registers (only called where Vector512 is accelerated).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Fma512(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? System.Runtime.Intrinsics.X86.Avx512F.FusedMultiplyAdd(a, b, c) : Vector512.FusedMultiplyAdd(a, b, c);

    /// <summary>_mm512_reduce_add_ps of the register (lo = lanes 0–7, hi = lanes 8–15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ReduceLanes(Vector256<float> lo, Vector256<float> hi)
    {
        var s = lo + hi;
        var u = s.GetLower() + s.GetUpper();
        return (u.GetElement(0) + u.GetElement(2)) + (u.GetElement(1) + u.GetElement(3));
    }

    /// <summary>ggml_vec_dot_f32: Σ x[i]·y[i] in the order of the ggml build loaded here (see the class summary).</summary>
    public static float Dot(float* x, float* y, int n) =>
        Quants.GgmlCpuVariant.Avx2 ? DotAvx2Build(x, y, n) : DotAvx512Build(x, y, n);

    /// <summary>ggml_vec_dot_f32 of the AVX-512 build (see the class summary).</summary>
    public static float DotAvx512Build(float* x, float* y, int n)
    {
        int np = n & ~(DotStep - 1);
        if (Vector512.IsHardwareAccelerated && np > 0)
            return DotLeftovers(x, y, np, n, Dot512(x, y, np));
        var a0 = Vector256<float>.Zero; var a0h = Vector256<float>.Zero;
        var a1 = Vector256<float>.Zero; var a1h = Vector256<float>.Zero;
        var a2 = Vector256<float>.Zero; var a2h = Vector256<float>.Zero;
        var a3 = Vector256<float>.Zero; var a3h = Vector256<float>.Zero;
        for (int s = 0; s < np; s += DotStep)
        {
            a0 = Fma(x + s, y + s, a0); a0h = Fma(x + s + 8, y + s + 8, a0h);
            a1 = Fma(x + s + 16, y + s + 16, a1); a1h = Fma(x + s + 24, y + s + 24, a1h);
            a2 = Fma(x + s + 32, y + s + 32, a2); a2h = Fma(x + s + 40, y + s + 40, a2h);
            a3 = Fma(x + s + 48, y + s + 48, a3); a3h = Fma(x + s + 56, y + s + 56, a3h);
        }
        return DotLeftovers(x, y, np, n, ReduceLanes((a0 + a2) + (a1 + a3), (a0h + a2h) + (a1h + a3h)));
    }

    /// <summary>The 64-wide part of <see cref="Dot"/> with 512-bit registers (same lanes, same rounding).</summary>
    private static float Dot512(float* x, float* y, int np)
    {
        var a0 = Vector512<float>.Zero; var a1 = Vector512<float>.Zero;
        var a2 = Vector512<float>.Zero; var a3 = Vector512<float>.Zero;
        for (int s = 0; s < np; s += DotStep)
        {
            a0 = Fma512(Vector512.Load(x + s), Vector512.Load(y + s), a0);
            a1 = Fma512(Vector512.Load(x + s + 16), Vector512.Load(y + s + 16), a1);
            a2 = Fma512(Vector512.Load(x + s + 32), Vector512.Load(y + s + 32), a2);
            a3 = Fma512(Vector512.Load(x + s + 48), Vector512.Load(y + s + 48), a3);
        }
        var r = (a0 + a2) + (a1 + a3);
        return ReduceLanes(r.GetLower(), r.GetUpper());
    }

    /// <summary>sum + the products of elements np..n−1 in ggml_vec_dot_f32's leftover order (also used by the multi-row kernel).</summary>
    internal static float DotLeftovers(float* x, float* y, int np, int n, float sum)
    {
        // Leftovers, as the compiler vectorised ggml's scalar loop: whole groups of 16, then one of 8, as rounded
        // products added in order; the last 0–7 as scalar FMAs. (RyuJIT never contracts x*y+s into an FMA itself.)
        int i = np;
        for (; n - i >= 16; i += 16)
            for (int k = 0; k < 16; k++)
                sum += x[i + k] * y[i + k];
        if (n - i >= 8)
        {
            for (int k = 0; k < 8; k++)
                sum += x[i + k] * y[i + k];
            i += 8;
        }
        for (; i < n; i++)
            sum = MathF.FusedMultiplyAdd(x[i], y[i], sum);
        return sum;
    }

    /// <summary>Lanes of tinyBLAS's accumulator in the build loaded here: n of a tinyBLAS product must be a multiple of it.</summary>
    public static int TinyBlasLanes => Quants.GgmlCpuVariant.Avx2 ? Avx2Lanes : Lanes;

    /// <summary>tinyBLAS's F32 dot in the build loaded here (n a multiple of <see cref="TinyBlasLanes"/>).</summary>
    public static float DotOneAccumulator(float* x, float* y, int n) =>
        Quants.GgmlCpuVariant.Avx2 ? DotOneAccumulatorAvx2Build(x, y, n) : DotOneAccumulatorAvx512Build(x, y, n);

    /// <summary>tinyBLAS's F32 dot in the AVX-512 build: one 16-lane FMA accumulator over n (a multiple of 16), then the lane reduction.</summary>
    public static float DotOneAccumulatorAvx512Build(float* x, float* y, int n)
    {
        if (n % Lanes != 0)
            throw new ArgumentException($"n must be a multiple of {Lanes}, got {n}", nameof(n));
        if (Vector512.IsHardwareAccelerated)
        {
            var acc = Vector512<float>.Zero;
            for (int i = 0; i < n; i += Lanes)
                acc = Fma512(Vector512.Load(x + i), Vector512.Load(y + i), acc);
            return ReduceLanes(acc.GetLower(), acc.GetUpper());
        }
        var lo = Vector256<float>.Zero;
        var hi = Vector256<float>.Zero;
        for (int i = 0; i < n; i += Lanes)
        {
            lo = Fma(x + i, y + i, lo);
            hi = Fma(x + i + 8, y + i + 8, hi);
        }
        return ReduceLanes(lo, hi);
    }

    /// <summary>ggml_vec_soft_max_f32 of the build loaded here: y[i] = exp(x[i] − max); returns Σ y in double. x and y may alias.</summary>
    public static double SoftmaxExp(float* y, float* x, float max, int n) =>
        Quants.GgmlCpuVariant.Avx2 ? SoftmaxExpAvx2Build(y, x, max, n) : SoftmaxExpAvx512Build(y, x, max, n);

    /// <summary>
    /// ggml_vec_soft_max_f32 of the AVX-512 build: y[i] = exp(x[i] − max); returns Σ y in double, summed per 16-lane chunk
    /// (chunk reduced in float first). x and y may alias.
    /// </summary>
    public static double SoftmaxExpAvx512Build(float* y, float* x, float max, int n)
    {
        int i = 0;
        double sum = 0;
        var vmax = Vector256.Create(max);
        for (; i + Lanes - 1 < n; i += Lanes)
        {
            var lo = ExpAvx512Build(Vector256.Load(x + i) - vmax);
            var hi = ExpAvx512Build(Vector256.Load(x + i + 8) - vmax);
            lo.Store(y + i);
            hi.Store(y + i + 8);
            sum += ReduceLanes(lo, hi);
        }
        for (; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            sum += e;
            y[i] = e;
        }
        return sum;
    }

    /// <summary>
    /// ggml_v_expf of the AVX-512 build, lane-wise: n = round(x·log2 e); b = x − n·ln2 (ln2 split in two parts); a degree-5 polynomial
    /// j ≈ eᵇ; result j·2ⁿ; |n| &gt; 192 gives +∞ (n &gt; 0) or 0.
    /// </summary>
    public static Vector256<float> ExpAvx512Build(Vector256<float> x)
    {
        var (_, n, b) = ExpArgument(x);
        var j = ExpPolynomial(b, Fma256(Vector256.Create(C1), b, Vector256<float>.One));
        var res = ScaleByPowerOfTwo(j, n);
        var outOfRange = Vector256.GreaterThan(Vector256.Abs(n), Vector256.Create(192f));
        if (outOfRange == Vector256<float>.Zero)
            return res;
        var alt = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(n, Vector256<float>.Zero),
            Vector256<float>.Zero, Vector256.Create(float.PositiveInfinity));
        return Vector256.ConditionalSelect(outOfRange, alt, res);
    }

    /// <summary>
    /// ggml_v_expf's argument reduction (both builds): z = x·log2 e + 1.5·2²³ (n in its low mantissa bits), n = z − 1.5·2²³,
    /// b = x − n·ln2 with ln2 in two parts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Z, Vector256<float> N, Vector256<float> B) ExpArgument(Vector256<float> x)
    {
        var r = Vector256.Create(RoundingBias);
        var z = Fma256(x, Vector256.Create(Log2E), r);
        var n = z - r;
        var b = Fma256(-n, Vector256.Create(Ln2Low),
            Fma256(-n, Vector256.Create(Ln2High), x));
        return (z, n, b);
    }

    /// <summary>ggml_v_expf's polynomial ((c5·b + c4)·u + (c3·b + c2))·u + <paramref name="linear"/>, u = b² (the linear
    /// term is c1·b + 1 in the AVX-512 build, c1·b in the AVX2 build).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpPolynomial(Vector256<float> b, Vector256<float> linear)
    {
        var u = b * b;
        return Fma256(
            Fma256(
                Fma256(Vector256.Create(C5), b, Vector256.Create(C4)),
                u,
                Fma256(Vector256.Create(C3), b, Vector256.Create(C2))),
            u,
            linear);
    }

    /// <summary>
    /// j·2ⁿ for integral n with one rounding (vscalefps): a multiply by 2ⁿ built from its exponent bits when 2ⁿ and
    /// the result stay normal, else per lane in double (exact product, one rounding to float).
    /// </summary>
    private static Vector256<float> ScaleByPowerOfTwo(Vector256<float> j, Vector256<float> n)
    {
        var normal = Vector256.GreaterThanOrEqual(n, Vector256.Create(-125f)) & Vector256.LessThanOrEqual(n, Vector256.Create(126f));
        if (normal == Vector256<float>.AllBitsSet)
        {
            var pow = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
            return j * pow;
        }
        Span<float> lanes = stackalloc float[8];
        for (int k = 0; k < 8; k++)
        {
            float nk = n.GetElement(k);
            lanes[k] = float.IsFinite(nk) && Math.Abs(nk) <= 192f
                ? (float)(j.GetElement(k) * Math.ScaleB(1.0, (int)nk))
                : float.NaN; // replaced by the caller's out-of-range select
        }
        return Vector256.Create((ReadOnlySpan<float>)lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma(float* x, float* y, Vector256<float> acc) =>
        Fma256(Vector256.Load(x), Vector256.Load(y), acc);
}
