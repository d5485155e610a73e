namespace KimiSharp.Quants;

/// <summary>F16: IEEE half; dot with F16 activations (ggml's vec_dot_f16: products and sums in float).</summary>
internal sealed unsafe class F16Codec : BlockCodec
{
    public override GgmlType Type => GgmlType.F16;
    public override GgmlType VecDotType => GgmlType.F16;
    public override int BlockSize => 1;
    public override int BlockBytes => 2;

    protected override void DequantizeBlock(byte* src, float* dst) => *dst = Fp16.ToFloat(*(ushort*)src);

    protected override void QuantizeBlock(float* src, byte* dst) => *(ushort*)dst = Fp16.FromFloat(*src);

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx512 ? FloatDotAvx512.F16((ushort*)w, (ushort*)a, n) : VecDotScalar(w, a, n);

    internal static float VecDotScalar(byte* w, byte* a, int n)
    {
        ushort* x = (ushort*)w, y = (ushort*)a;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 4 <= n; i += 4)
        {
            s0 += Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
            s1 += Fp16.ToFloat(x[i + 1]) * Fp16.ToFloat(y[i + 1]);
            s2 += Fp16.ToFloat(x[i + 2]) * Fp16.ToFloat(y[i + 2]);
            s3 += Fp16.ToFloat(x[i + 3]) * Fp16.ToFloat(y[i + 3]);
        }
        for (; i < n; i++)
            s0 += Fp16.ToFloat(x[i]) * Fp16.ToFloat(y[i]);
        return (s0 + s1) + (s2 + s3);
    }
}
