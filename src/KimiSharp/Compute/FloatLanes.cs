using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Compute;

/// <summary>
/// The float vector operations a width-generic kernel needs, as static members of a struct, so one kernel body
/// (generic over the struct) compiles to SSE/NEON (<see cref="Lanes128"/>), AVX2 (<see cref="Lanes256"/>) or AVX-512
/// (<see cref="Lanes512"/>) code with every call inlined.
/// </summary>
internal unsafe interface IFloatLanes<TV> where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }
    static abstract TV Splat(float x);
    static abstract TV Load(float* p);
    static abstract void Store(float* p, TV v);
    /// <summary>a·b + c (fused where the hardware has FMA).</summary>
    static abstract TV MulAdd(TV a, TV b, TV c);
    static abstract TV Add(TV a, TV b);
    static abstract TV Sub(TV a, TV b);
    static abstract TV Mul(TV a, TV b);
    static abstract TV Max(TV a, TV b);
    /// <summary>Lane-wise a ≥ b ? x : y.</summary>
    static abstract TV SelectWhereGreaterOrEqual(TV a, TV b, TV x, TV y);
    /// <summary>2ⁿ for z = n + 1.5·2²³ (the rounding trick's output; n integral in −126..127): (bits(z) + 127) &lt;&lt; 23.</summary>
    static abstract TV Pow2OfRounded(TV z);
}

/// <summary>Vector helpers built from <see cref="IFloatLanes{TV}"/> primitives.</summary>
internal static class FloatLanes
{
    // ggml_v_expf's constants: 1.5·2²³ (round to integer by addition), log2 e, ln 2 in two parts, a degree-5
    // polynomial for eᵇ on |b| ≤ ln2/2.
    private static readonly float RoundingBias = BitConverter.Int32BitsToSingle(0x4B400000);
    private static readonly float Log2E = BitConverter.Int32BitsToSingle(0x3FB8AA3B);
    private static readonly float Ln2High = BitConverter.Int32BitsToSingle(0x3F317200);
    private static readonly float Ln2Low = BitConverter.Int32BitsToSingle(0x35BFBE8E);
    private static readonly float C1 = BitConverter.Int32BitsToSingle(0x3F7FFFF6);
    private static readonly float C2 = BitConverter.Int32BitsToSingle(0x3EFFFEDB);
    private static readonly float C3 = BitConverter.Int32BitsToSingle(0x3E2AAF33);
    private static readonly float C4 = BitConverter.Int32BitsToSingle(0x3D2B9F17);
    private static readonly float C5 = BitConverter.Int32BitsToSingle(0x3C072010);

    /// <summary>Lowest input of <see cref="ExpNonPositive{TL, TV}"/>: its result e^−87 ≈ 1.6e−38 is still a normal float
    /// (n = −126 there with b &gt; 0).</summary>
    public const float ExpFloor = -87f;

    /// <summary>
    /// eˣ for x ≤ 0 (softmax weights), relative error ≈ 1e−7; x below <see cref="ExpFloor"/> (−∞ included) gives
    /// e^ExpFloor ≈ 1e−38, so callers that need an exact 0 select it. n = round(x·log2 e), b = x − n·ln 2,
    /// eˣ = p(b)·2ⁿ with 2ⁿ built from n's bits (n ≥ −126 keeps it normal).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ExpNonPositive<TL, TV>(TV x) where TL : struct, IFloatLanes<TV> where TV : struct
    {
        x = TL.Max(x, TL.Splat(ExpFloor));
        var z = TL.MulAdd(x, TL.Splat(Log2E), TL.Splat(RoundingBias));
        var n = TL.Sub(z, TL.Splat(RoundingBias));
        var b = TL.MulAdd(n, TL.Splat(-Ln2Low), TL.MulAdd(n, TL.Splat(-Ln2High), x));
        var u = TL.Mul(b, b);
        var p = TL.MulAdd(
            TL.MulAdd(TL.MulAdd(TL.Splat(C5), b, TL.Splat(C4)), u, TL.MulAdd(TL.Splat(C3), b, TL.Splat(C2))),
            u,
            TL.MulAdd(TL.Splat(C1), b, TL.Splat(1f)));
        return TL.Mul(p, TL.Pow2OfRounded(z));
    }
}

/// <summary>128-bit lanes (SSE, NEON, or .NET's software fallback).</summary>
internal readonly unsafe struct Lanes128 : IFloatLanes<Vector128<float>>
{
    public static int Count => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Splat(float x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector128<float> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c)
        : AdvSimd.IsSupported ? AdvSimd.FusedMultiplyAdd(c, a, b)
        : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Mul(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SelectWhereGreaterOrEqual(Vector128<float> a, Vector128<float> b, Vector128<float> x, Vector128<float> y) =>
        Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(a, b), x, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Pow2OfRounded(Vector128<float> z) =>
        Vector128.ShiftLeft(z.AsInt32() + Vector128.Create(127), 23).AsSingle();
}

/// <summary>256-bit lanes (AVX2 + FMA).</summary>
internal readonly unsafe struct Lanes256 : IFloatLanes<Vector256<float>>
{
    public static int Count => 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SelectWhereGreaterOrEqual(Vector256<float> a, Vector256<float> b, Vector256<float> x, Vector256<float> y) =>
        Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(a, b), x, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow2OfRounded(Vector256<float> z) =>
        Vector256.ShiftLeft(z.AsInt32() + Vector256.Create(127), 23).AsSingle();
}

/// <summary>512-bit lanes (AVX-512F).</summary>
internal readonly unsafe struct Lanes512 : IFloatLanes<Vector512<float>>
{
    public static int Count => 16;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        Avx512F.IsSupported ? Avx512F.FusedMultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SelectWhereGreaterOrEqual(Vector512<float> a, Vector512<float> b, Vector512<float> x, Vector512<float> y) =>
        Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(a, b), x, y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow2OfRounded(Vector512<float> z) =>
        Vector512.ShiftLeft(z.AsInt32() + Vector512.Create(127), 23).AsSingle();
}
