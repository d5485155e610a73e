using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>
/// Which ggml-cpu build's float order the exact kernels reproduce: the one LLamaSharp.Backend.Cpu 0.30 loads on this
/// CPU, by LLamaSharp's own rule (NativeLibraryConfig.CheckAVX512): its avx512 build where .NET reports AVX-512 F, BW and
/// VBMI and CPUID reports AVX512-VNNI, else its avx2 build where AVX2 is there. llama.cpp's builds sum F32/F16/BF16 in
/// registers of their own width and the AVX2 build has another vector exp, so bit-identical logits need the order of the
/// build that actually runs next to us:
/// <list type="bullet">
/// <item>avx512: 16-lane vec_dot_f32/f16/bf16, tinyBLAS and softmax, ggml_v_expf with vscalefps, Q2_K repacked.</item>
/// <item>avx2: 8-lane sums (<see cref="Compute.GgmlFloatOrder"/>'s AVX2 order), the AVX2 ggml_v_expf (2ⁿ built in the
/// exponent bits, a final FMA), no Q2_K repacking. This includes AVX-512 CPUs without VBMI or VNNI (Skylake-SP,
/// Cascade Lake), where our AVX-512 kernels run but sum in the avx2 build's order.</item>
/// </list>
/// The integer k-quant and i-quant kernels and the repacked Q4_0/IQ4_NL/Q4_K/Q2_K kernels give the same bits in both
/// builds. Hosts without AVX2 keep the AVX-512 order (llama.cpp's avx/noavx builds are not reproduced).
/// </summary>
public static class GgmlCpuVariant
{
    /// <summary>True where LLamaSharp loads llama.cpp's avx512 build.</summary>
    public static readonly bool Avx512Build = Avx512F.IsSupported && Avx512BW.IsSupported && Avx512Vbmi.IsSupported && HasAvx512Vnni();

    /// <summary>True where llama.cpp's avx2 build is the reference: every exact F32/F16/BF16 order is its 8-lane one.</summary>
    public static readonly bool Avx2 = !Avx512Build && Simd.Best >= SimdLevel.Avx2;

    /// <summary>CPUID leaf 7, sub-leaf 0, ECX bit 11 (AVX512_VNNI), as LLamaSharp reads it.</summary>
    private static bool HasAvx512Vnni() => X86Base.IsSupported && (X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0;
}
