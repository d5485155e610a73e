using System.Runtime.Intrinsics;

namespace KimiSharp.Compute;

/// <summary>
/// SwiGLU gate: y = silu(g) ⊙ u with silu(z) = z / (1 + e^(−z)), computed as ggml_vec_swiglu_f32 does per row in
/// the build loaded here (<see cref="Quants.GgmlCpuVariant"/>): 16 values at a time with the AVX-512 build's vector exp
/// (<see cref="GgmlFloatOrder.ExpAvx512Build"/>) or 8 at a time with the AVX2 build's (<see cref="GgmlFloatOrder.ExpAvx2Build"/>),
/// the row's last n mod 16 (or 8) with libm expf, so results are bit-identical to llama.cpp's.
/// </summary>
public static unsafe class SwiGlu
{
    public static float Silu(float z) => z / (1.0f + MathF.Exp(-z));

    public static float Sigmoid(float z) => 1.0f / (1.0f + MathF.Exp(-z));

    /// <summary>In place: gate ← silu(gate) ⊙ up, as one row.</summary>
    public static void Apply(Span<float> gate, ReadOnlySpan<float> up) => Apply(gate, up, gate.Length);

    /// <summary>In place: gate ← silu(gate) ⊙ up over rows of <paramref name="rowLength"/> values.</summary>
    public static void Apply(Span<float> gate, ReadOnlySpan<float> up, int rowLength)
    {
        if (up.Length != gate.Length)
            throw new ArgumentException($"SwiGlu: gate has {gate.Length} values, up {up.Length}");
        if (rowLength <= 0 || gate.Length % rowLength != 0)
            throw new ArgumentException($"SwiGlu: {gate.Length} values are not whole rows of {rowLength}");
        fixed (float* g = gate)
        fixed (float* u = up)
            for (int row = 0; row < gate.Length; row += rowLength)
                ApplyRow(g + row, u + row, rowLength);
    }

    private static void ApplyRow(float* g, float* u, int n)
    {
        int i = 0;
        if (Quants.GgmlCpuVariant.Avx2)
        {
            for (; i + GgmlFloatOrder.Avx2Lanes <= n; i += GgmlFloatOrder.Avx2Lanes)
            {
                var x = Vector256.Load(g + i);
                (x / (Vector256<float>.One + GgmlFloatOrder.ExpAvx2Build(Vector256<float>.Zero - x)) * Vector256.Load(u + i)).Store(g + i);
            }
        }
        else
        {
            for (; i + GgmlFloatOrder.Lanes <= n; i += GgmlFloatOrder.Lanes)
            {
                SiluTimes(g + i, u + i);
                SiluTimes(g + i + 8, u + i + 8);
            }
        }
        for (; i < n; i++)
            g[i] = Silu(g[i]) * u[i];
    }

    // ggml_v_silu: x / (1 + exp(0 − x)), then × up.
    private static void SiluTimes(float* g, float* u)
    {
        var x = Vector256.Load(g);
        var silu = x / (Vector256<float>.One + GgmlFloatOrder.ExpAvx512Build(Vector256<float>.Zero - x));
        (silu * Vector256.Load(u)).Store(g);
    }
}
