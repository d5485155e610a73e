namespace KimiSharp.Quants;

/// <summary>F16: IEEE half; dot with F16 activations (ggml's vec_dot_f16: exact float products, float lane sums, double leftovers).</summary>
internal sealed unsafe class F16Codec : BlockCodec
{
    public override GgmlType Type => GgmlType.F16;
    public override GgmlType VecDotType => GgmlType.F16;
    public override int BlockSize => 1;
    public override int BlockBytes => 2;

    protected override void DequantizeBlock(byte* src, float* dst) => *dst = Fp16.ToFloat(*(ushort*)src);

    protected override void QuantizeBlock(float* src, byte* dst) => *(ushort*)dst = Fp16.FromFloat(*src);

    /// <summary>
    /// ggml_vec_dot_f16's own summation order, so results are bit-identical to llama.cpp's (see <see cref="HalfDot"/>): the
    /// AVX2/AVX-512 kernels in the order of the build loaded here (<see cref="GgmlCpuVariant"/>), the portable ones in
    /// the AVX-512 build's.
    /// </summary>
    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) => level switch
    {
        >= SimdLevel.Avx2 when GgmlCpuVariant.Avx2 => HalfDot.Avx2Build((ushort*)w, (ushort*)a, n),
        >= SimdLevel.Avx512 => HalfDot.Avx512((ushort*)w, (ushort*)a, n),
        SimdLevel.Avx2 => HalfDot.Avx2((ushort*)w, (ushort*)a, n),
        SimdLevel.Vector128 => FloatVector128.F16((ushort*)w, (ushort*)a, n),
        _ => HalfDot.Scalar((ushort*)w, (ushort*)a, n),
    };

    /// <summary>Two rows per pass on AVX-512 where its build is the reference (same bits as <see cref="VecDot(SimdLevel, byte*, byte*, int)"/>, see <see cref="FloatRowsHalf"/>).</summary>
    public override void VecDotRows(byte* w, long rowBytes, byte* a, int n, float* dst, int rows)
    {
        if (Simd.Best >= SimdLevel.Avx512 && !GgmlCpuVariant.Avx2)
            FloatRowsHalf.Dot((ushort*)w, rowBytes, (ushort*)a, n, dst, rows);
        else
            base.VecDotRows(w, rowBytes, a, n, dst, rows);
    }
}
