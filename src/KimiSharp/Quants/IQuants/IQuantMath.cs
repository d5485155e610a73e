using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants.IQuants;

/// <summary>Small helpers shared by the i-quant kernels: half-precision loads, Q8_K block layout, reductions.</summary>
internal static unsafe class IQuantMath
{
    /// <summary>The AVX2 kernels need FMA and BMI2 (pdep) besides AVX2.</summary>
    public static bool HasAvx2 => Avx2.IsSupported && Fma.IsSupported && Bmi2.X64.IsSupported;

    /// <summary>The AVX-512 kernels use F, BW, VL (256-bit forms) and BMI2.</summary>
    public static bool HasAvx512 => HasAvx2 && Avx512F.IsSupported && Avx512BW.IsSupported && Avx512F.VL.IsSupported && Avx512BW.VL.IsSupported;

    /// <summary>Kernels that expand sign codes with VBMI byte permutes and multishift.</summary>
    public static bool HasAvx512Vbmi => HasAvx512 && Avx512Vbmi.IsSupported;

    /// <summary>Q8_K block: d:f32 at 0, qs[256]:i8 at 4, bsums[16]:i16 at 260; 292 bytes.</summary>
    public const int Q8KBytes = 292, Q8KQs = 4, Q8KBsums = 260;

    /// <summary>Q8_0 block: d:f16 at 0, qs[32]:i8 at 2; 34 bytes.</summary>
    public const int Q80Bytes = 34;

    /// <summary>Every f16 bit pattern as a float (ggml's conversion, from <see cref="Fp16"/>), in native memory so kernels index it without GC statics.</summary>
    public static readonly float* HalfTable = BuildHalfTable();

    private static float* BuildHalfTable()
    {
        var table = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(65536 * sizeof(float), 64);
        for (int h = 0; h < 65536; h++)
            table[h] = Fp16.ToFloat((ushort)h);
        return table;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Half(byte* p) => HalfTable[*(ushort*)p];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Half(ushort bits) => HalfTable[bits];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> v)
    {
        var s = v.GetLower() + v.GetUpper();
        s += Sse.MoveHighToLow(s, s);
        s += Sse.Shuffle(s, s, 0x55);
        return s.ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> v) => Sum(v.GetLower() + v.GetUpper());

    /// <summary>
    /// One block's step of ggml's float accumulation for the i-quants (its AVX2 kernels, which its AVX-512 build runs):
    /// acc += d·(float)lanes with one 8-lane FMA, lane k holding Σ of elements 4k..4k+3 of every 32-group. Our 512-bit
    /// kernels hold even groups in the low half and odd groups in the high half, so low + high (exact integers) are
    /// ggml's lanes and the result is bit-identical to its.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> AccumulateBlock(Vector256<float> acc, float d, Vector512<int> sum) =>
        Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sum.GetLower() + sum.GetUpper()), acc);

    /// <summary>Lane-wise sign change of signed bytes by a 0/0xFF mask: (q ⊕ m) − m.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<sbyte> Negate(Vector512<sbyte> q, Vector512<sbyte> mask) => (q ^ mask) - mask;

    /// <summary>u8×s8 products summed in adjacent pairs to i16, then pairs of those (× scale) to i32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotScaled(Vector256<byte> u, Vector256<sbyte> s, Vector256<short> scale) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), scale);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> DotScaled(Vector512<byte> u, Vector512<sbyte> s, Vector512<short> scale) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), scale);
}
