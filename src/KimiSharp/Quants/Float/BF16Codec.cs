using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>BF16: the top 16 bits of a float; dot with BF16 activations (ggml's vec_dot_bf16, float accumulation).</summary>
internal sealed unsafe class BF16Codec : BlockCodec
{
    public override GgmlType Type => GgmlType.BF16;
    public override GgmlType VecDotType => GgmlType.BF16;
    public override int BlockSize => 1;
    public override int BlockBytes => 2;

    protected override void DequantizeBlock(byte* src, float* dst) => *dst = Fp16.BF16ToFloat(*(ushort*)src);

    protected override void QuantizeBlock(float* src, byte* dst) => *(ushort*)dst = Fp16.FloatToBF16(*src);

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx512 ? FloatDotAvx512.BF16((ushort*)w, (ushort*)a, n) : level >= SimdLevel.Avx2 ? VecDotAvx2((ushort*)w, (ushort*)a, n) : VecDotScalar((ushort*)w, (ushort*)a, n);

    internal static float VecDotScalar(ushort* x, ushort* y, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum += Fp16.BF16ToFloat(x[i]) * Fp16.BF16ToFloat(y[i]);
        return (float)sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float VecDotAvx2(ushort* x, ushort* y, int n)
    {
        var acc = Vector256<float>.Zero;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var xf = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(x + i), 16).AsSingle();
            var yf = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(y + i), 16).AsSingle();
            acc = Fma.MultiplyAdd(xf, yf, acc);
        }
        float sum = SimdOps.HorizontalSum(acc);
        for (; i < n; i++)
            sum += Fp16.BF16ToFloat(x[i]) * Fp16.BF16ToFloat(y[i]);
        return sum;
    }
}
