namespace KimiSharp.Quants;

/// <summary>Q8_K (292 B / 256): d:f32, qs[256]:i8, bsums[16]:i16 — the activation format of the k/i-quants.</summary>
internal sealed unsafe class Q8_KCodec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q8_K;
    public override GgmlType VecDotType => GgmlType.Q8_K;
    public override int BlockSize => 256;
    public override int BlockBytes => 292;

    protected override void DequantizeBlock(byte* src, float* dst)
    {
        float d = *(float*)src;
        sbyte* qs = (sbyte*)(src + 4);
        for (int j = 0; j < 256; j++) dst[j] = d * qs[j];
    }

    public override void Quantize(ReadOnlySpan<float> src, Span<byte> dst) => ActivationQuantizer.Q8_K(src, dst);

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, w += 292, a += 292)
        {
            int isum = 0;
            for (int j = 0; j < 256; j++) isum += ((sbyte*)(w + 4))[j] * ((sbyte*)(a + 4))[j];
            sum += *(float*)w * *(float*)a * isum;
        }
        return sum;
    }
}
