using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// Integer building blocks of the portable Vector128 i-quant kernels (plain <see cref="Vector128"/> API only, so the
/// same code runs as SSE on x86 and NEON on ARM64).
/// </summary>
internal static unsafe class IQuantsVector128Ops
{
    /// <summary>
    /// Σ w·a over 16 signed byte lanes, as 4 int lanes. Products are formed in 16 bits: |w| ≤ 127 and |a| ≤ 128 keep
    /// the sum of two products (≤ 32512) inside a short, so the only widening to int is of 8 pair sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot16(Vector128<sbyte> w, Vector128<sbyte> a)
    {
        var pairs = Vector128.WidenLower(w) * Vector128.WidenLower(a) + Vector128.WidenUpper(w) * Vector128.WidenUpper(a);
        return Vector128.WidenLower(pairs) + Vector128.WidenUpper(pairs);
    }

    /// <summary>Σ w·a over 16 byte lanes with |w| ≤ 1 (ternary), left in 8 short lanes (each ≤ 256 in magnitude).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> TernaryDot16(Vector128<sbyte> w, Vector128<sbyte> a) =>
        Vector128.WidenLower(w) * Vector128.WidenLower(a) + Vector128.WidenUpper(w) * Vector128.WidenUpper(a);

    /// <summary>Two 8-lane table entries (grid points or sign masks) side by side.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Pair(ulong low, ulong high) => Vector128.Create(low, high).AsSByte();

    /// <summary>Four 4-lane grid points side by side.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Quad(uint a, uint b, uint c, uint d) => Vector128.Create(a, b, c, d).AsSByte();

    /// <summary>Lane-wise sign change by a 0 / −1 byte mask: (v ⊕ m) − m. Applied to weights (|w| ≤ 127), never to a = −128.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Negate(Vector128<sbyte> v, Vector128<sbyte> mask) => (v ^ mask) - mask;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Load(byte* p) => Vector128.Load((sbyte*)p);

    /// <summary>acc + d·(float)sum, lane-wise (multiply then add, no fused step: same result on every platform).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Accumulate(Vector128<float> acc, float d, Vector128<int> sum) =>
        acc + Vector128.Create(d) * Vector128.ConvertToSingle(sum);

    /// <summary>Σ of the 8 short lanes as 4 int lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Widen(Vector128<short> v) => Vector128.WidenLower(v) + Vector128.WidenUpper(v);
}
