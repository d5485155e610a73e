namespace KimiSharp.Quants;

/// <summary>BF16: the top 16 bits of a float; dot with BF16 activations (ggml's vec_dot_bf16: FMA lane sums, double total).</summary>
internal sealed unsafe class BF16Codec : BlockCodec
{
    public override GgmlType Type => GgmlType.BF16;
    public override GgmlType VecDotType => GgmlType.BF16;
    public override int BlockSize => 1;
    public override int BlockBytes => 2;

    protected override void DequantizeBlock(byte* src, float* dst) => *dst = Fp16.BF16ToFloat(*(ushort*)src);

    protected override void QuantizeBlock(float* src, byte* dst) => *(ushort*)dst = Fp16.FloatToBF16(*src);

    /// <summary>
    /// ggml_vec_dot_bf16's own summation order, so results are bit-identical to llama.cpp's (see <see cref="BFloat16Dot"/>):
    /// the AVX2/AVX-512 kernels in the order of the build loaded here (<see cref="GgmlCpuVariant"/>), the portable ones in
    /// the AVX-512 build's.
    /// </summary>
    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) => level switch
    {
        >= SimdLevel.Avx2 when GgmlCpuVariant.Avx2 => BFloat16Dot.Avx2Build((ushort*)w, (ushort*)a, n),
        >= SimdLevel.Avx512 => BFloat16Dot.Avx512((ushort*)w, (ushort*)a, n),
        SimdLevel.Avx2 => BFloat16Dot.Avx2((ushort*)w, (ushort*)a, n),
        SimdLevel.Vector128 => FloatVector128.BF16((ushort*)w, (ushort*)a, n),
        _ => BFloat16Dot.Scalar((ushort*)w, (ushort*)a, n),
    };

    /// <summary>Four rows per pass on AVX-512 where its build is the reference (same bits as <see cref="VecDot(SimdLevel, byte*, byte*, int)"/>, see <see cref="FloatRowsBFloat16"/>).</summary>
    public override void VecDotRows(byte* w, long rowBytes, byte* a, int n, float* dst, int rows)
    {
        if (Simd.Best >= SimdLevel.Avx512 && !GgmlCpuVariant.Avx2)
            FloatRowsBFloat16.Dot((ushort*)w, rowBytes, (ushort*)a, n, dst, rows);
        else
            base.VecDotRows(w, rowBytes, a, n, dst, rows);
    }
}
