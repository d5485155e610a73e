using System.Runtime.InteropServices;

namespace KimiSharp.Quants;

/// <summary>F32: plain floats; dot with F32 activations (ggml's vec_dot_f32).</summary>
internal sealed unsafe class F32Codec : BlockCodec
{
    public override GgmlType Type => GgmlType.F32;
    public override GgmlType VecDotType => GgmlType.F32;
    public override int BlockSize => 1;
    public override int BlockBytes => 4;

    protected override void DequantizeBlock(byte* src, float* dst) => *dst = *(float*)src;

    public override void Quantize(ReadOnlySpan<float> src, Span<byte> dst) => MemoryMarshal.AsBytes(src).CopyTo(dst);

    /// <summary>With AVX2: ggml_vec_dot_f32's own summation order in the build loaded here (<see cref="Compute.GgmlFloatOrder.Dot"/>), so results are bit-identical to llama.cpp's.</summary>
    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx2 ? Compute.GgmlFloatOrder.Dot((float*)w, (float*)a, n) : level >= SimdLevel.Vector128 ? FloatVector128.F32((float*)w, (float*)a, n) : VecDotScalar((float*)w, (float*)a, n);

    /// <summary>Four rows per pass on AVX-512 for rows longer than 4096, where its build is the reference (same bits as <see cref="VecDot(SimdLevel, byte*, byte*, int)"/>, see <see cref="FloatRowsSingle"/>).</summary>
    public override void VecDotRows(byte* w, long rowBytes, byte* a, int n, float* dst, int rows)
    {
        if (Simd.Best >= SimdLevel.Avx512 && !GgmlCpuVariant.Avx2)
            FloatRowsSingle.Dot((float*)w, rowBytes, (float*)a, n, dst, rows);
        else
            base.VecDotRows(w, rowBytes, a, n, dst, rows);
    }

    internal static float VecDotScalar(float* w, float* a, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum += w[i] * a[i];
        return (float)sum;
    }
}
