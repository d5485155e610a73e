namespace KimiSharp.Compute;

/// <summary>SwiGLU gate: y = silu(g) ⊙ u with silu(z) = z / (1 + e^(−z)).</summary>
public static class SwiGlu
{
    public static float Silu(float z) => z / (1.0f + MathF.Exp(-z));

    public static float Sigmoid(float z) => 1.0f / (1.0f + MathF.Exp(-z));

    /// <summary>In place: gate ← silu(gate) ⊙ up.</summary>
    public static void Apply(Span<float> gate, ReadOnlySpan<float> up)
    {
        if (up.Length != gate.Length)
            throw new ArgumentException($"SwiGlu: gate has {gate.Length} values, up {up.Length}");
        for (int i = 0; i < gate.Length; i++)
            gate[i] = Silu(gate[i]) * up[i];
    }
}
