namespace KimiSharp.Quants;

/// <summary>Q8_1: d, s:fp16 (s = d·Σq), qs[32]:i8 — the activation format of Q4_1/Q5_1.</summary>
internal sealed unsafe class Q8_1Codec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q8_1;
    public override GgmlType VecDotType => GgmlType.Q8_1;
    public override int BlockSize => 32;
    public override int BlockBytes => 36;

    protected override void DequantizeBlock(byte* src, float* dst)
    {
        float d = Fp16.ToFloat(*(ushort*)src);
        sbyte* qs = (sbyte*)(src + 4);
        for (int j = 0; j < 32; j++) dst[j] = qs[j] * d;
    }

    public override void Quantize(ReadOnlySpan<float> src, Span<byte> dst) => ActivationQuantizer.Q8_1Reference(src, dst);

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 32; b++, w += 36, a += 36)
        {
            int isum = 0;
            for (int j = 0; j < 32; j++) isum += ((sbyte*)(w + 4))[j] * ((sbyte*)(a + 4))[j];
            sum += Fp16.ToFloat(*(ushort*)w) * Fp16.ToFloat(*(ushort*)a) * isum;
        }
        return sum;
    }
}
