namespace KimiSharp.Compute;

/// <summary>
/// One query row of MLA attention in latent space (one KV "head" shared by all query heads):
/// s_j = scale·(q · k_j) for the visible rows j, p = softmax(s), out = Σ_j p_j · k_j[0..valueLength).
/// The value of row j is the first <c>valueLength</c> values of its key row (the normalised latent).
/// </summary>
public static unsafe class LatentAttention
{
    /// <param name="q">Query of <paramref name="rowLength"/> values (latent-absorbed q_nope, then roped q_pe).</param>
    /// <param name="keys">Cache rows, <paramref name="rowLength"/> floats each.</param>
    /// <param name="visible">Rows 0..visible−1 are attended (causal mask).</param>
    /// <param name="scores">Scratch of at least <paramref name="visible"/> floats.</param>
    /// <param name="output"><paramref name="valueLength"/> floats, overwritten.</param>
    public static void Attend(float* q, float* keys, int rowLength, int visible, int valueLength, float scale,
        Span<float> scores, float* output)
    {
        var s = scores[..visible];
        for (int j = 0; j < visible; j++)
            s[j] = VectorMath.Dot(q, keys + (long)j * rowLength, rowLength);
        Softmax.Apply(s, scale);
        new Span<float>(output, valueLength).Clear();
        for (int j = 0; j < visible; j++)
            VectorMath.AddScaled(output, keys + (long)j * rowLength, s[j], valueLength);
    }
}
