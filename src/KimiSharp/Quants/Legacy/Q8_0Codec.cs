using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>Q8_0: d:fp16, qs[32]:i8; value = d·q. Dot with Q8_0 activations.</summary>
internal sealed unsafe class Q8_0Codec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q8_0;
    public override GgmlType VecDotType => GgmlType.Q8_0;
    public override int BlockSize => 32;
    public override int BlockBytes => 34;

    protected override void DequantizeBlock(byte* src, float* dst)
    {
        float d = Fp16.ToFloat(*(ushort*)src);
        sbyte* qs = (sbyte*)(src + 2);
        for (int j = 0; j < 32; j++)
            dst[j] = qs[j] * d;
    }

    public override void Quantize(ReadOnlySpan<float> src, Span<byte> dst) => ActivationQuantizer.Q8_0Reference(src, dst);

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx2 ? VecDotAvx2(w, a, n) : level >= SimdLevel.Vector128 ? LegacyVector128.Q8_0(w, a, n) : VecDotScalar(w, a, n);

    /// <summary>Four rows at a time on AVX2+ (same bits as <see cref="VecDot(SimdLevel, byte*, byte*, int)"/>, see <see cref="LegacyRows"/>).</summary>
    public override void VecDotRows(byte* w, long rowBytes, byte* a, int n, float* dst, int rows)
    {
        if (Simd.Best >= SimdLevel.Avx2)
            LegacyRows.Dot<Q8_0Block>(w, rowBytes, a, n, dst, rows, &VecDotAvx2);
        else
            base.VecDotRows(w, rowBytes, a, n, dst, rows);
    }

    internal static float VecDotScalar(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 32; b++, w += 34, a += 34)
        {
            int isum = 0;
            for (int j = 0; j < 32; j++)
                isum += ((sbyte*)(w + 2))[j] * ((sbyte*)(a + 2))[j];
            sum += Fp16.ToFloat(*(ushort*)w) * Fp16.ToFloat(*(ushort*)a) * isum;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float VecDotAvx2(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc0 = Vector256<float>.Zero;
        int nb = n / 32, b = 0;
        for (; b + 1 < nb; b += 2, w += 68, a += 68)
        {
            var p0 = SimdOps.DotS8S8(Avx.LoadVector256((sbyte*)(w + 2)), Avx.LoadVector256((sbyte*)(a + 2)));
            var p1 = SimdOps.DotS8S8(Avx.LoadVector256((sbyte*)(w + 36)), Avx.LoadVector256((sbyte*)(a + 36)));
            acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p0), acc0);
            acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)(w + 34)] * f16[*(ushort*)(a + 34)]), Avx.ConvertToVector256Single(p1), acc0);
        }
        if (b < nb)
        {
            var p0 = SimdOps.DotS8S8(Avx.LoadVector256((sbyte*)(w + 2)), Avx.LoadVector256((sbyte*)(a + 2)));
            acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p0), acc0);
        }
        return SimdOps.HorizontalSum(acc0);
    }
}
