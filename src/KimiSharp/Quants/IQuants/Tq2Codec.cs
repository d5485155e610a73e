using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// TQ2_0, ternary at 2.0625 bpw. Block of 256 (66 bytes): qs[64], d:f16. Byte m of each 32-byte half j holds
/// four 2-bit codes; code l is element 128·j + 32·l + m. Value = d·(code − 1).
/// </summary>
internal sealed unsafe class Tq2Codec : IQuantCodecBase
{
    public override GgmlType Type => GgmlType.TQ2_0;

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(block + 64);
        for (int j = 0; j < 64; j += 32)
            for (int l = 0; l < 4; l++)
                for (int m = 0; m < 32; m++)
                    *y++ = (((block[j + m] >> (2 * l)) & 3) - 1) * d;
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Vector128.IsHardwareAccelerated) list.Add(new("Vector128", &IQuantsVector128.Tq2Dot));
        if (HasAvx2) list.Add(new("Avx2", &DotAvx2));
        if (HasAvx512) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotScalar(byte* x, byte* y, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, x += 66, y += Q8KBytes)
        {
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            int sumi = 0;
            for (int j = 0; j < 64; j += 32)
                for (int l = 0; l < 4; l++)
                    for (int m = 0; m < 32; m++)
                        sumi += q8[4 * j + 32 * l + m] * (((x[j + m] >> (2 * l)) & 3) - 1);
            sum += sumi * (*(float*)y * Half(x + 64));
        }
        return sum;
    }

    /// <summary>Σ (c−1)·a = Σ c·a − Σ a: unsigned codes times signed activations, Σ a from the bsums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        var three = Vector256.Create((byte)3);
        var ones = Vector256.Create((short)1);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 66, y += Q8KBytes)
        {
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var pairs = Vector256<short>.Zero;
            for (int j = 0; j < 2; j++, q8 += 128)
            {
                var codes = Avx.LoadVector256(x + 32 * j);
                pairs += Avx2.MultiplyAddAdjacent(codes & three, Avx.LoadVector256(q8));
                pairs += Avx2.MultiplyAddAdjacent(Avx2.ShiftRightLogical(codes.AsUInt16(), 2).AsByte() & three, Avx.LoadVector256(q8 + 32));
                pairs += Avx2.MultiplyAddAdjacent(Avx2.ShiftRightLogical(codes.AsUInt16(), 4).AsByte() & three, Avx.LoadVector256(q8 + 64));
                pairs += Avx2.MultiplyAddAdjacent(Avx2.ShiftRightLogical(codes.AsUInt16(), 6).AsByte() & three, Avx.LoadVector256(q8 + 96));
            }
            var bsums = Avx.LoadVector256((short*)(y + Q8KBsums));
            var sum = Avx2.MultiplyAddAdjacent(pairs, ones) - Avx2.MultiplyAddAdjacent(bsums, ones);
            acc = Fma.MultiplyAdd(Vector256.Create(*(float*)y * Half(x + 64)), Avx.ConvertToVector256Single(sum), acc);
        }
        return Sum(acc);
    }

    /// <summary>
    /// Each 32-byte half of the codes is repeated in both 256-bit halves and shifted by (0, 2) or (4, 6) bits, so
    /// codes line up with 64 contiguous activations per step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        float* f16 = HalfTable;
        var three = Vector512.Create((byte)3);
        var ones = Vector512.Create((short)1);
        var shift01 = Vector512.Create(Vector256<ushort>.Zero, Vector256.Create((ushort)2));
        var shift23 = Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)6));
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 66, y += Q8KBytes)
        {
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var pairs = Vector512<short>.Zero;
            for (int j = 0; j < 2; j++, q8 += 128)
            {
                var codes = Vector256.Load(x + 32 * j);
                var both = SimdOps.Join(codes, codes).AsUInt16();
                pairs += Avx512BW.MultiplyAddAdjacent(Avx512BW.ShiftRightLogicalVariable(both, shift01).AsByte() & three, Vector512.Load(q8));
                pairs += Avx512BW.MultiplyAddAdjacent(Avx512BW.ShiftRightLogicalVariable(both, shift23).AsByte() & three, Vector512.Load(q8 + 64));
            }
            var sums = Avx512BW.MultiplyAddAdjacent(pairs, ones);
            var sum = sums.GetLower() + sums.GetUpper() - Avx2.MultiplyAddAdjacent(Avx.LoadVector256((short*)(y + Q8KBsums)), Vector256.Create((short)1));
            acc = Fma.MultiplyAdd(Vector256.Create(*(float*)y * f16[*(ushort*)(x + 64)]), Avx.ConvertToVector256Single(sum), acc);
        }
        return Sum(acc);
    }
}
