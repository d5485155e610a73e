using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// Half → float widening with integer SIMD (.NET exposes no F16C/vcvtph2ps). Rows of halves are read as 32-bit lanes,
/// each holding two halves: the <i>low</i> half (even element) in bits 0–15 and the <i>high</i> half (odd element) in
/// bits 16–31. Widening the two separately needs no shuffle; callers keep their accumulators in that even/odd layout.
/// <list type="bullet">
/// <item><see cref="Exact(Vector512{uint})"/>: every half, bit for bit as vcvtph2ps (NaNs quieted, payload kept).</item>
/// <item><see cref="ScaledHigh(Vector512{uint}, uint)"/>/<see cref="ScaledLow(Vector512{uint}, uint)"/>: three
/// integer ops for <b>normal</b> halves only (exponent field 1–30), giving h·2^(K−112) for a bias K that is a multiple
/// of 32 (so adding it to the 5-bit exponent is an OR). Two operands with K_x + K_y = 224 multiply to exactly h_x·h_y:
/// no float op is spent on the conversion. Zeros, subnormals, Inf and NaN (exponent field 0 or 31) come out wrong;
/// <see cref="AnyZeroExponentOrSpecial(Vector512{uint})"/> finds them so callers take <see cref="Exact(Vector512{uint})"/>.</item>
/// </list>
/// </summary>
internal static class HalfWidening
{
    /// <summary>Bias for the weight operand: h·2^16.</summary>
    public const uint WeightBias = 128u << 23;

    /// <summary>Bias for the activation operand: h·2^−16 (WeightBias + ActivationBias = 224·2^23).</summary>
    public const uint ActivationBias = 96u << 23;

    // sign (bit 31) and exponent+mantissa (bits 27..13) of an arithmetic-shifted half; bits 30..28 get the bias
    private const uint SignAndPayload = 0x8FFFE000u;

    // Ternary-logic table for (a & b) | c.
    private const byte AndOr = 0xEA;

    /// <summary>Multipliers for vpmaddwd picking the even (low) half of each lane: lane = sign-extended half · 2^13.</summary>
    public static Vector512<short> PickLow => Vector512.Create(0x00002000u).AsInt16();

    /// <summary>Multipliers for vpmaddwd picking the odd (high) half of each lane.</summary>
    public static Vector512<short> PickHigh => Vector512.Create(0x20000000u).AsInt16();

    /// <summary>
    /// One half per lane, scaled by 2^(K−112); exact only for normal halves. vpmaddwd with a pick multiplier leaves
    /// the half's sign in bits 31–28 and its exponent and mantissa in bits 27–13; the ternary op then puts the bias
    /// into bits 30–28 (pass <c>Vector512.Create(bias)</c>, hoisted by the caller).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scaled(Vector512<uint> pairs, Vector512<short> pick, Vector512<uint> bias) =>
        Avx512F.TernaryLogic(Avx512BW.MultiplyAddAdjacent(pairs.AsInt16(), pick).AsUInt32(), Vector512.Create(SignAndPayload), bias, AndOr).AsSingle();

    /// <summary>The odd (high) halves as <see cref="Scaled"/> does, by an arithmetic shift instead of vpmaddwd (another port).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaledHighShift(Vector512<uint> pairs, Vector512<uint> bias) =>
        Avx512F.TernaryLogic(Avx512F.ShiftRightArithmetic(pairs.AsInt32(), 3).AsUInt32(), Vector512.Create(SignAndPayload), bias, AndOr).AsSingle();

    /// <summary>
    /// A pair of widened operands whose product is exactly the product of two <b>normal</b> halves, in 3 ops for 16
    /// lanes. The activation is only vpmaddwd'ed (sign-extended half·2^13): a positive half gets exponent field E
    /// (value a·2^−112), a negative one 224 + E (value a·2^112). The weight, also vpmaddwd'ed, takes the complementary
    /// bias from the activation's sign bits in one ternary op: bits 30–28 = NOT the activation's (224 or 0), so
    /// the scales always cancel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<float> Weight, Vector512<float> Activation) ScaledPair(Vector512<uint> weightPairs, Vector512<uint> activationPairs, Vector512<short> pick, Vector512<uint> biasBits)
    {
        var a = Avx512BW.MultiplyAddAdjacent(activationPairs.AsInt16(), pick).AsUInt32();
        var w = Avx512BW.MultiplyAddAdjacent(weightPairs.AsInt16(), pick).AsUInt32();
        // where biasBits (bits 30–28) is set: NOT a; elsewhere: w
        return (Avx512F.TernaryLogic(w, a, biasBits, WeightOrNotActivation).AsSingle(), a.AsSingle());
    }

    /// <summary>Bits 30–28: where <see cref="ScaledPair(Vector512{uint}, Vector512{uint}, Vector512{short}, Vector512{uint})"/> puts the bias.</summary>
    public const uint BiasBits = 0x70000000u;

    // Ternary-logic table for c ? ~b : a.
    private const byte WeightOrNotActivation = 0x72;

    /// <summary>The odd (high) halves, scaled by 2^(K−112); exact only for normal halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaledHigh(Vector512<uint> pairs, uint bias) => ScaledHighShift(pairs, Vector512.Create(bias));

    /// <summary>The even (low) halves, scaled by 2^(K−112); exact only for normal halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaledLow(Vector512<uint> pairs, uint bias) => Scaled(pairs, PickLow, Vector512.Create(bias));

    /// <summary>True when some half of the 32 has exponent field 0 (zero, subnormal) or 31 (Inf, NaN).</summary>
    /// <remarks>Adding 1 to the exponent field maps 31 → 0 and 0 → 1: both leave bits 14..11 clear.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ushort> ZeroExponentOrSpecialMask(Vector512<uint> pairs) =>
        Vector512.Equals((pairs.AsUInt16() + Vector512.Create((ushort)0x0400)) & Vector512.Create((ushort)0x7800), Vector512<ushort>.Zero);

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

    /// <summary>True when some half of the 32 has exponent field 0 or 31 (see <see cref="ZeroExponentOrSpecialMask(Vector512{uint})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AnyZeroExponentOrSpecial(Vector512<uint> pairs) => ZeroExponentOrSpecialMask(pairs) != Vector512<ushort>.Zero;

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

    /// <inheritdoc cref="Scaled(Vector512{uint}, Vector512{short}, Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Scaled(Vector256<uint> pairs, Vector256<short> pick, Vector256<uint> bias) =>
        ((Avx2.MultiplyAddAdjacent(pairs.AsInt16(), pick).AsUInt32() & Vector256.Create(SignAndPayload)) | bias).AsSingle();

    /// <inheritdoc cref="ScaledPair(Vector512{uint}, Vector512{uint}, Vector512{short}, Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> Weight, Vector256<float> Activation) ScaledPair(Vector256<uint> weightPairs, Vector256<uint> activationPairs, Vector256<short> pick, Vector256<uint> biasBits)
    {
        var a = Avx2.MultiplyAddAdjacent(activationPairs.AsInt16(), pick).AsUInt32();
        var w = Avx2.MultiplyAddAdjacent(weightPairs.AsInt16(), pick).AsUInt32();
        return ((Vector256.AndNot(w, biasBits) | Vector256.AndNot(biasBits, a)).AsSingle(), a.AsSingle());
    }

    /// <inheritdoc cref="ScaledHighShift(Vector512{uint}, Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ScaledHighShift(Vector256<uint> pairs, Vector256<uint> bias) =>
        ((Avx2.ShiftRightArithmetic(pairs.AsInt32(), 3).AsUInt32() & Vector256.Create(SignAndPayload)) | bias).AsSingle();

    /// <inheritdoc cref="ScaledHigh(Vector512{uint}, uint)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ScaledHigh(Vector256<uint> pairs, uint bias) => ScaledHighShift(pairs, Vector256.Create(bias));

    /// <inheritdoc cref="ScaledLow(Vector512{uint}, uint)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ScaledLow(Vector256<uint> pairs, uint bias) => Scaled(pairs, PickLow.GetLower(), Vector256.Create(bias));

    /// <inheritdoc cref="ExponentClass(Vector512{uint}, Vector512{ushort}, Vector512{ushort})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ushort> ExponentClass(Vector256<uint> pairs, Vector256<ushort> one, Vector256<ushort> field) =>
        (pairs.AsUInt16() + one) & field;

    /// <inheritdoc cref="ExponentClassGfni(Vector512{uint}, Vector512{byte})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ushort> ExponentClassGfni(Vector256<uint> pairs, Vector256<byte> matrix) =>
        Gfni.V256.GaloisFieldAffineTransform(pairs.AsByte(), matrix, 0).AsUInt16();

    /// <inheritdoc cref="ZeroExponentOrSpecialMask(Vector512{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<ushort> ZeroExponentOrSpecialMask(Vector256<uint> pairs) =>
        Vector256.Equals((pairs.AsUInt16() + Vector256.Create((ushort)0x0400)) & Vector256.Create((ushort)0x7800), Vector256<ushort>.Zero);

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
