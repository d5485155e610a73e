using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// IQ4_NL, 4.5 bpw, 32-wide (pairs with Q8_0 activations, as in ggml). Block (18 bytes): d:f16, qs[16];
/// element j = d·levels[qs[j] &amp; 15], element j+16 = d·levels[qs[j] &gt;&gt; 4] with the 16 non-linear levels.
/// </summary>
internal sealed unsafe class Iq4NlCodec : IQuantCodecBase
{
    public override GgmlType Type => GgmlType.IQ4_NL;

    public override GgmlType VecDotType => GgmlType.Q8_0;

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(block);
        var values = IQuantGrids.Iq4NlValues;
        byte* qs = block + 2;
        for (int j = 0; j < 16; j++)
        {
            y[j] = d * values[qs[j] & 15];
            y[j + 16] = d * values[qs[j] >> 4];
        }
    }

    public override bool CanQuantize => true;

    public override void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Span<byte> levels = stackalloc byte[32];
        levels.Clear();
        for (int b = 0; b < src.Length / 32; b++)
            Iq4Quantizer.QuantizeNl(src.Slice(32 * b, 32), dst.Slice(18 * b, 18), levels);
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Avx2.IsSupported) list.Add(new("Avx2", &DotAvx2));
        return [.. list];
    }

    internal static float DotScalar(byte* x, byte* y, int n)
    {
        var values = IQuantGrids.Iq4NlValues;
        float sum = 0;
        for (int b = 0; b < n / 32; b++, x += 18, y += Q80Bytes)
        {
            float d = Half(y) * Half(x);
            byte* qs = x + 2;
            sbyte* q8 = (sbyte*)(y + 2);
            int sum1 = 0, sum2 = 0;
            for (int j = 0; j < 16; j++)
            {
                sum1 += q8[j] * values[qs[j] & 15];
                sum2 += q8[j + 16] * values[qs[j] >> 4];
            }
            sum += d * (sum1 + sum2);
        }
        return sum;
    }

    /// <summary>The 16 levels in both 128-bit lanes, for byte shuffles.</summary>
    internal static Vector256<sbyte> LevelTable => Vector256.Create(Vector128.Create(IQuantGrids.Iq4NlValues));

    /// <summary>16 packed bytes → 32 lanes of signed levels: low nibbles in the first 16 lanes, high nibbles in the next 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<sbyte> Levels(byte* qs, Vector256<sbyte> table)
    {
        var packed = Vector128.Load(qs);
        var nibbles = Vector256.Create(packed, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)15);
        return Avx2.Shuffle(table, nibbles.AsSByte());
    }

    /// <summary>Signed×signed byte products summed to i32 lanes via |w|·(a·sign w) (|w| ≤ 127 keeps i16 pairs exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<short> SignedPairs(Vector256<sbyte> w, Vector256<sbyte> a) =>
        Avx2.MultiplyAddAdjacent(Avx2.Abs(w), Avx2.Sign(a, w));

    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        var table = LevelTable;
        var ones = Vector256.Create((short)1);
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        int blocks = n / 32, b = 0;
        for (; b + 1 < blocks; b += 2, x += 36, y += 2 * Q80Bytes)
        {
            var p1 = Avx2.MultiplyAddAdjacent(SignedPairs(Levels(x + 2, table), Avx.LoadVector256((sbyte*)(y + 2))), ones);
            var p2 = Avx2.MultiplyAddAdjacent(SignedPairs(Levels(x + 20, table), Avx.LoadVector256((sbyte*)(y + Q80Bytes + 2))), ones);
            acc1 = Fma.MultiplyAdd(Vector256.Create(Half(y) * Half(x)), Avx.ConvertToVector256Single(p1), acc1);
            acc2 = Fma.MultiplyAdd(Vector256.Create(Half(y + Q80Bytes) * Half(x + 18)), Avx.ConvertToVector256Single(p2), acc2);
        }
        for (; b < blocks; b++, x += 18, y += Q80Bytes)
        {
            var p = Avx2.MultiplyAddAdjacent(SignedPairs(Levels(x + 2, table), Avx.LoadVector256((sbyte*)(y + 2))), ones);
            acc1 = Fma.MultiplyAdd(Vector256.Create(Half(y) * Half(x)), Avx.ConvertToVector256Single(p), acc1);
        }
        return Sum(acc1 + acc2);
    }
}
