namespace KimiSharp.Quants;

/// <summary>
/// Which ggml-cpu build's float order the exact kernels reproduce: the one LLamaSharp.Backend.Cpu loads on this CPU
/// (it picks its native variant from .NET's view of the CPU, as <see cref="Simd.Best"/> does). llama.cpp's builds
/// sum F32/F16/BF16 in registers of their own width and the AVX2 build has another vector exp, so bit-identical
/// logits need the order of the build that actually runs next to us:
/// <list type="bullet">
/// <item>AVX-512 (F, BW, DQ, VL): the avx512 build — 16-lane vec_dot_f32/f16/bf16, tinyBLAS and softmax, ggml_v_expf
/// with vscalefps, Q2_K repacked.</item>
/// <item>AVX2 + FMA without those: the avx2 build — 8-lane sums (<see cref="Compute.GgmlFloatOrder"/>'s AVX2 order),
/// the AVX2 ggml_v_expf (2ⁿ built in the exponent bits, a final FMA), no Q2_K repacking. The integer k-quant and
/// i-quant kernels and the Q4_0/IQ4_NL/Q4_K repacked kernels give the same bits in both builds.</item>
/// </list>
/// Hosts without AVX2 keep the AVX-512 order (llama.cpp's avx/noavx builds are not reproduced).
/// </summary>
public static class GgmlCpuVariant
{
    /// <summary>True where llama.cpp's avx2 build is the reference: every exact F32/F16/BF16 order is its 8-lane one.</summary>
    public static readonly bool Avx2 = Simd.Best == SimdLevel.Avx2;
}
