using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// Half → float widening with integer SIMD (.NET exposes no F16C/vcvtph2ps). Rows of halves are read as 32-bit lanes,
/// each holding two halves: the <i>low</i> half (even element) in bits 0–15 and the <i>high</i> half (odd element) in
/// bits 16–31. Widening the two separately needs no shuffle; callers keep their accumulators in that even/odd layout.
/// <list type="bullet">
/// <item><see cref="ScaledPair(Vector512{uint}, Vector512{uint}, Vector512{short}, Vector512{uint})"/>: a weight and an
/// activation widened to two floats whose product is exactly the product of the halves, in 3 ops for 16 lanes, when
/// both are <b>normal</b> halves (exponent field 1–30).</item>
/// <item><see cref="ExponentClass(Vector512{uint}, Vector512{ushort}, Vector512{ushort})"/> /
/// <see cref="ExponentClassGfni(Vector512{uint}, Vector512{byte})"/>: find zeros, subnormals, Inf and NaN.</item>
/// <item><see cref="Exact(Vector512{uint})"/>: every half, bit for bit as vcvtph2ps (NaNs quieted, payload kept).</item>
/// </list>
/// </summary>
internal static class HalfWidening
{
    /// <summary>Multipliers for vpmaddwd picking the even (low) half of each lane: lane = sign-extended half · 2^13.</summary>
    public static Vector512<short> PickLow => Vector512.Create(0x00002000u).AsInt16();

    /// <summary>Multipliers for vpmaddwd picking the odd (high) half of each lane.</summary>
    public static Vector512<short> PickHigh => Vector512.Create(0x20000000u).AsInt16();

    /// <summary>Bits 30–28 of a float's exponent field, where <see cref="ScaledPair(Vector512{uint}, Vector512{uint}, Vector512{short}, Vector512{uint})"/> puts its bias.</summary>
    public const uint BiasBits = 0x70000000u;

    // Ternary-logic table for c ? ~b : a (a: first operand).
    private const byte WeightOrNotActivation = 0x72;

    /// <summary>
    /// Weight and activation halves (the ones <paramref name="pick"/> selects) as floats whose product is exactly the
    /// product of the halves, when both are normal. vpmaddwd with the pick multiplier gives sign-extended half · 2^13:
    /// the sign in bits 31–28, exponent and mantissa in bits 27–13. Read as a float, a positive activation has exponent
    /// field E (value a·2^−112) and a negative one 224 + E (value a·2^112). The weight's bits 30–28 are set to the NOT
    /// of the activation's in one ternary op, giving it bias 224 or 0 (value w·2^112 or w·2^−112): the scales cancel.
    /// No value is subnormal, Inf or NaN, so no float op is spent on the conversion.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float> Weight, Vector512<float> Activation) ScaledPair(Vector512<uint> weightPairs, Vector512<uint> activationPairs, Vector512<short> pick, Vector512<uint> biasBits)
    {
        var a = Avx512BW.MultiplyAddAdjacent(activationPairs.AsInt16(), pick).AsUInt32();
        var w = Avx512BW.MultiplyAddAdjacent(weightPairs.AsInt16(), pick).AsUInt32();
        return (Avx512F.TernaryLogic(w, a, biasBits, WeightOrNotActivation).AsSingle(), a.AsSingle());
    }

    /// <summary>
    /// Per half: the exponent field plus one (mod 32) in bits 14–11 and zeros elsewhere, which is 0 exactly when the
    /// field is 0 (zero, subnormal) or 31 (Inf, NaN). The unsigned minimum over several rows is 0 iff any is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ushort> ExponentClass(Vector512<uint> pairs, Vector512<ushort> one, Vector512<ushort> field) =>
        (pairs.AsUInt16() + one) & field;

    /// <summary>
    /// GF(2) affine matrix for vgf2p8affineqb: each output byte's bits 0–3 are E4⊕E3, E3⊕E2, E2⊕E1, E1⊕E0 of the
    /// byte's bits 6–2, which in a half's high byte are its exponent field. All four are 0 exactly when the field is
    /// all zeros or all ones, so per half the result is &lt; 0x100 iff the half is zero, subnormal, Inf or NaN (the low
    /// byte, transformed too, only adds 0–0xFF). Rows are stored last byte first: output bit i uses byte 7 − i.
    /// </summary>
    public static Vector512<byte> ExponentXorMatrix => Vector512.Create(0x6030180C_00000000ul).AsByte();

    /// <summary>Per half: &lt; 0x100 iff its exponent field is 0 or 31 (one GFNI op; see <see cref="ExponentXorMatrix"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ushort> ExponentClassGfni(Vector512<uint> pairs, Vector512<byte> matrix) =>
        Gfni.V512.GaloisFieldAffineTransform(pairs.AsByte(), matrix, 0).AsUInt16();

    /// <summary>The odd (high) halves, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExactHigh(Vector512<uint> pairs) => Exact(pairs & Vector512.Create(0xFFFF0000u));

    /// <summary>The even (low) halves, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ExactLow(Vector512<uint> pairs) => Exact(Avx512F.ShiftLeftLogical(pairs, 16));

    /// <summary>
    /// Halves held in bits 16–31 (bits 0–15 zero) → floats. Normal/Inf/NaN: exponent rebias by +224 then ·2^−112
    /// (an Inf/NaN exponent lands on 255; the multiply quiets a signalling NaN as vcvtph2ps does). Zero/subnormal:
    /// mantissa placed under the exponent of 0.5, minus 0.5. Both are exact; the sign is or'ed back.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exact(Vector512<uint> w)
    {
        var sign = w & Vector512.Create(0x80000000u);
        var twoW = w + w;
        var normalized = (Avx512F.ShiftRightLogical(twoW, 4) + Vector512.Create(0x70000000u)).AsSingle() * Vector512.Create(0x07800000u).AsSingle();
        var denormalized = (Avx512F.ShiftRightLogical(twoW, 17) | Vector512.Create(0x3F000000u)).AsSingle() - Vector512.Create(0.5f);
        var isDenormal = Vector512.LessThan(twoW, Vector512.Create(1u << 27)).AsSingle();
        return (Vector512.ConditionalSelect(isDenormal, denormalized, normalized).AsUInt32() | sign).AsSingle();
    }

    // ---- The same on 256-bit registers (AVX2 machines) ----

    /// <inheritdoc cref="ScaledPair(Vector512{uint}, Vector512{uint}, Vector512{short}, Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> Weight, Vector256<float> Activation) ScaledPair(Vector256<uint> weightPairs, Vector256<uint> activationPairs, Vector256<short> pick, Vector256<uint> biasBits)
    {
        var a = Avx2.MultiplyAddAdjacent(activationPairs.AsInt16(), pick).AsUInt32();
        var w = Avx2.MultiplyAddAdjacent(weightPairs.AsInt16(), pick).AsUInt32();
        return ((Vector256.AndNot(w, biasBits) | Vector256.AndNot(biasBits, a)).AsSingle(), a.AsSingle());
    }

    /// <inheritdoc cref="ExponentClass(Vector512{uint}, Vector512{ushort}, Vector512{ushort})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ushort> ExponentClass(Vector256<uint> pairs, Vector256<ushort> one, Vector256<ushort> field) =>
        (pairs.AsUInt16() + one) & field;

    /// <inheritdoc cref="ExponentClassGfni(Vector512{uint}, Vector512{byte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ushort> ExponentClassGfni(Vector256<uint> pairs, Vector256<byte> matrix) =>
        Gfni.V256.GaloisFieldAffineTransform(pairs.AsByte(), matrix, 0).AsUInt16();

    /// <inheritdoc cref="ExactHigh(Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExactHigh(Vector256<uint> pairs) => Exact(pairs & Vector256.Create(0xFFFF0000u));

    /// <inheritdoc cref="ExactLow(Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ExactLow(Vector256<uint> pairs) => Exact(Avx2.ShiftLeftLogical(pairs, 16));

    /// <inheritdoc cref="Exact(Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exact(Vector256<uint> w)
    {
        var sign = w & Vector256.Create(0x80000000u);
        var twoW = w + w;
        var normalized = (Avx2.ShiftRightLogical(twoW, 4) + Vector256.Create(0x70000000u)).AsSingle() * Vector256.Create(0x07800000u).AsSingle();
        var denormalized = (Avx2.ShiftRightLogical(twoW, 17) | Vector256.Create(0x3F000000u)).AsSingle() - Vector256.Create(0.5f);
        var isDenormal = Vector256.LessThan(twoW, Vector256.Create(1u << 27)).AsSingle();
        return (Vector256.ConditionalSelect(isDenormal, denormalized, normalized).AsUInt32() | sign).AsSingle();
    }
}
