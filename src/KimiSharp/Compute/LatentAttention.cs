using System.Runtime.Intrinsics;

namespace KimiSharp.Compute;

/// <summary>
/// One query row of MLA attention in latent space (one KV "head" shared by all query heads):
/// s_j = scale·(q · k_j) for the visible rows j, p = softmax(s), out = Σ_j p_j · k_j[0..valueLength).
/// The value of row j is the first <c>valueLength</c> values of its key row (the normalised latent).
/// <para>
/// Every sum runs in llama.cpp's order (<see cref="GgmlFloatOrder"/>, of the ggml build loaded here), with its KV view
/// padded to a multiple of 256 rows: masked rows are −∞ scores and zero weights, so they change no sum, but they make
/// every visible row part of a full register-wide chunk. q·k is ggml_vec_dot_f32; the softmax is ggml's; the weighted sum of values is
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
            var order = Quants.GgmlCpuVariant.Avx2
                ? batched ? SlotOrder.TinyBlasAvx2Build : SlotOrder.VecDotAvx2Build
                : batched ? SlotOrder.TinyBlasAvx512Build : SlotOrder.VecDotAvx512Build;
            WeightedValues(s, keys, rowLength, visible, valueLength, output, order);
        }
    }

    /// <summary>
    /// How ggml sums the weighted values: as vec_dot_f32 over the rows (one token) or tinyBLAS (a batch), in the AVX-512
    /// build (16 lanes) or the AVX2 build (8 lanes). The value is the number of accumulator slots (see <see cref="WeightedValues"/>).
    /// </summary>
    private enum SlotOrder
    {
        TinyBlasAvx2Build = 8,
        TinyBlasAvx512Build = 16,
        VecDotAvx2Build = 32,
        VecDotAvx512Build = 64,
    }

    /// <summary>
    /// out[d] = Σ_j p_j·k_j[d], each column summed as ggml would sum it as a dot product over j: row j goes to
    /// accumulator slot j mod slots (the lanes of tinyBLAS's one accumulator, or the four accumulators × lanes of
    /// ggml_vec_dot_f32, whose rows beyond the last full step are the zero-weight padding), then the slots are reduced
    /// in that kernel's order (<see cref="ReduceSlots"/>). Vectorised across d, 8 columns at a time.
    /// </summary>
    private static void WeightedValues(float* p, float* keys, int rowLength, int visible, int valueLength, float* output, SlotOrder order)
    {
        int slots = (int)order;
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
            ReduceSlots(acc, order).Store(output + d);
        }
        for (; d < valueLength; d++)
        {
            // a last column on its own: the same sums in lane 0
            for (int k = 0; k < slots; k++)
                acc[k] = Vector256<float>.Zero;
            for (int j = 0; j < visible; j++)
                acc[j & (slots - 1)] = GgmlFloatOrder.Fma256(Vector256.CreateScalar(keys[(long)j * rowLength + d]), Vector256.Create(p[j]), acc[j & (slots - 1)]);
            output[d] = ReduceSlots(acc, order).ToScalar();
        }
    }

    /// <summary>
    /// The slots reduced column-wise in the kernel's order. AVX-512 vec_dot: slot k ← (a0+a2)+(a1+a3) lane k (k &lt; 16),
    /// then lane halving i+8, i+4, i+2, i+1 (tinyBLAS: the halving only). AVX2 vec_dot: lane k ← (a0+a2)+(a1+a3) (k &lt; 8),
    /// t_i = v_i + v_{i+4}, then (t0+t1)+(t2+t3); AVX2 tinyBLAS: t_i = v_i + v_{i+4}, then (t0+t2)+(t1+t3).
    /// </summary>
    private static Vector256<float> ReduceSlots(Vector256<float>* acc, SlotOrder order)
    {
        switch (order)
        {
            case SlotOrder.VecDotAvx512Build or SlotOrder.TinyBlasAvx512Build:
                if (order == SlotOrder.VecDotAvx512Build)
                    for (int k = 0; k < 16; k++)
                        acc[k] = (acc[k] + acc[k + 32]) + (acc[k + 16] + acc[k + 48]);
                for (int width = 8; width >= 1; width /= 2)
                    for (int k = 0; k < width; k++)
                        acc[k] += acc[k + width];
                return acc[0];
            case SlotOrder.VecDotAvx2Build:
                for (int k = 0; k < 8; k++)
                    acc[k] = (acc[k] + acc[k + 16]) + (acc[k + 8] + acc[k + 24]);
                for (int k = 0; k < 4; k++)
                    acc[k] += acc[k + 4];
                return (acc[0] + acc[1]) + (acc[2] + acc[3]);
            default:
                for (int k = 0; k < 4; k++)
                    acc[k] += acc[k + 4];
                return (acc[0] + acc[2]) + (acc[1] + acc[3]);
        }
    }
}
