using System.Runtime.Intrinsics;

namespace KimiSharp.Compute;

/// <summary>
/// One query row of MLA attention in latent space (one KV "head" shared by all query heads):
/// s_j = scale·(q · k_j) for the visible rows j, p = softmax(s), out = Σ_j p_j · k_j[0..valueLength).
/// The value of row j is the first <c>valueLength</c> values of its key row (the normalised latent).
/// <para>
/// Every sum runs in llama.cpp's order (<see cref="GgmlFloatOrder"/>), with its KV view padded to a multiple of 256
/// rows: masked rows are −∞ scores and zero weights, so they change no sum, but they make every visible row part of
/// a full 16-lane chunk. q·k is ggml_vec_dot_f32; the softmax is ggml's; the weighted sum of values is
/// ggml_vec_dot_f32 over the rows for a single token and tinyBLAS's one-accumulator order for a batch
/// (<paramref name="batched"/>), because llama.cpp's mat-mul takes its llamafile path only for two or more tokens.
/// </para>
/// </summary>
public static unsafe class LatentAttention
{
    /// <summary>Scratch floats <see cref="Attend"/> needs for <paramref name="visible"/> rows.</summary>
    public static int ScoreLength(int visible) => (visible + GgmlFloatOrder.Lanes - 1) / GgmlFloatOrder.Lanes * GgmlFloatOrder.Lanes;

    /// <param name="q">Query of <paramref name="rowLength"/> values (latent-absorbed q_nope, then roped q_pe).</param>
    /// <param name="keys">Cache rows, <paramref name="rowLength"/> floats each.</param>
    /// <param name="visible">Rows 0..visible−1 are attended (causal mask).</param>
    /// <param name="scores">Scratch of at least <see cref="ScoreLength"/>(visible) floats.</param>
    /// <param name="output"><paramref name="valueLength"/> floats, overwritten.</param>
    /// <param name="batched">Whether this row belongs to a batch of two or more tokens (see the class summary).</param>
    public static void Attend(float* q, float* keys, int rowLength, int visible, int valueLength, float scale,
        Span<float> scores, float* output, bool batched)
    {
        int padded = ScoreLength(visible);
        if (scores.Length < padded)
            throw new ArgumentException($"scores needs {padded} floats, got {scores.Length}", nameof(scores));
        fixed (float* s = scores)
        {
            // kq = K·q, scaled (ggml_soft_max_ext: x·scale + mask, mask 0 or −∞), then softmax over full chunks.
            float max = float.NegativeInfinity;
            for (int j = 0; j < visible; j++)
            {
                s[j] = GgmlFloatOrder.Dot(keys + (long)j * rowLength, q, rowLength) * scale;
                max = MathF.Max(max, s[j]);
            }
            for (int j = visible; j < padded; j++)
                s[j] = float.NegativeInfinity;
            float inv = (float)(1.0 / GgmlFloatOrder.SoftmaxExp(s, s, max, padded));
            for (int j = 0; j < visible; j++)
                s[j] *= inv;
            WeightedValues(s, keys, rowLength, visible, valueLength, output, batched ? GgmlFloatOrder.Lanes : GgmlFloatOrder.DotStep);
        }
    }

    /// <summary>
    /// out[d] = Σ_j p_j·k_j[d], each column summed as ggml would sum it as a dot product over j: row j goes to
    /// accumulator slot j mod <paramref name="slots"/> (16 lanes for tinyBLAS; 64 = four accumulators of 16 lanes for
    /// ggml_vec_dot_f32, whose rows beyond the last full 64 are the zero-weight padding). Slots are combined
    /// (a0+a2)+(a1+a3) across accumulators and then lanes by halving. Vectorised across d, 8 columns at a time.
    /// </summary>
    private static void WeightedValues(float* p, float* keys, int rowLength, int visible, int valueLength, float* output, int slots)
    {
        var acc = stackalloc Vector256<float>[GgmlFloatOrder.DotStep];
        int d = 0;
        for (; d + 8 <= valueLength; d += 8)
        {
            // Slot k sums rows k, k+slots, k+2·slots, … in order; four slots at a time stay in registers.
            float* column = keys + d;
            for (int k0 = 0; k0 < slots; k0 += 4)
            {
                var a0 = Vector256<float>.Zero; var a1 = Vector256<float>.Zero;
                var a2 = Vector256<float>.Zero; var a3 = Vector256<float>.Zero;
                int j = k0;
                for (; j + 3 < visible; j += slots)
                {
                    a0 = GgmlFloatOrder.Fma256(Vector256.Load(column + (long)j * rowLength), Vector256.Create(p[j]), a0);
                    a1 = GgmlFloatOrder.Fma256(Vector256.Load(column + (long)(j + 1) * rowLength), Vector256.Create(p[j + 1]), a1);
                    a2 = GgmlFloatOrder.Fma256(Vector256.Load(column + (long)(j + 2) * rowLength), Vector256.Create(p[j + 2]), a2);
                    a3 = GgmlFloatOrder.Fma256(Vector256.Load(column + (long)(j + 3) * rowLength), Vector256.Create(p[j + 3]), a3);
                }
                if (j < visible)
                    a0 = GgmlFloatOrder.Fma256(Vector256.Load(column + (long)j * rowLength), Vector256.Create(p[j]), a0);
                if (j + 1 < visible)
                    a1 = GgmlFloatOrder.Fma256(Vector256.Load(column + (long)(j + 1) * rowLength), Vector256.Create(p[j + 1]), a1);
                if (j + 2 < visible)
                    a2 = GgmlFloatOrder.Fma256(Vector256.Load(column + (long)(j + 2) * rowLength), Vector256.Create(p[j + 2]), a2);
                acc[k0] = a0; acc[k0 + 1] = a1; acc[k0 + 2] = a2; acc[k0 + 3] = a3;
            }
            CombineSlots(acc, slots);
            // Lane halving over the 16 slots 0..15 (each a Vector256 of 8 columns).
            for (int width = 8; width >= 1; width /= 2)
                for (int k = 0; k < width; k++)
                    acc[k] += acc[k + width];
            acc[0].Store(output + d);
        }
        var lane = stackalloc float[GgmlFloatOrder.DotStep];
        for (; d < valueLength; d++)
        {
            for (int k = 0; k < slots; k++)
                lane[k] = 0;
            for (int j = 0; j < visible; j++)
                lane[j & (slots - 1)] = MathF.FusedMultiplyAdd(keys[(long)j * rowLength + d], p[j], lane[j & (slots - 1)]);
            if (slots == GgmlFloatOrder.DotStep)
                for (int k = 0; k < 16; k++)
                    lane[k] = (lane[k] + lane[k + 32]) + (lane[k + 16] + lane[k + 48]);
            for (int width = 8; width >= 1; width /= 2)
                for (int k = 0; k < width; k++)
                    lane[k] += lane[k + width];
            output[d] = lane[0];
        }
    }

    /// <summary>For 64 slots (four accumulators of 16 lanes): slot k ← (a0+a2)+(a1+a3) lane k, k &lt; 16.</summary>
    private static void CombineSlots(Vector256<float>* acc, int slots)
    {
        if (slots != GgmlFloatOrder.DotStep)
            return;
        for (int k = 0; k < 16; k++)
            acc[k] = (acc[k] + acc[k + 32]) + (acc[k + 16] + acc[k + 48]);
    }
}
