using System.Runtime.Intrinsics;
using KimiSharp.Quants;

namespace KimiSharp.Compute;

/// <summary>
/// y[h, t] = W_h · x[h, t] for every head h and token t, where W_h are a layer's per-head matrices (attn_k_b: q_nope →
/// latent, attn_v_b: latent → value head), in two pool runs (activations of all heads quantized, then head × row-chunk
/// tasks) rather than one matrix product per head: Kimi-K2's are 512×128, so 64 separate products per layer spend
/// more on dispatch than on arithmetic at decode. Inputs and outputs are read and written in place through strides,
/// so the caller needs no gather or scatter copies. Dot products are the weight codec's (F32 weights: a plain
/// 8-lane dot); the summation order is not llama.cpp's, so this is for the default (non-exact) path.
/// </summary>
public static unsafe class HeadProducts
{
    /// <summary>Rows of one head's matrix a task takes (kept in L1 while every token passes over them).</summary>
    private const int ChunkRows = 64;

    /// <summary>Where the operands are: head h, token t of x at X + h·XHead + t·XToken (Cols floats), of y at
    /// Y + h·YHead + t·YToken (Rows floats).</summary>
    public readonly struct Operands
    {
        public float* X { get; init; }
        public long XHead { get; init; }
        public long XToken { get; init; }
        public float* Y { get; init; }
        public long YHead { get; init; }
        public long YToken { get; init; }
        public int Tokens { get; init; }
    }

    /// <param name="head0">Head 0's matrix (Rows × Cols); head h's starts <paramref name="headStrideBytes"/>·h later.</param>
    public static void Multiply(in QuantMatrix head0, long headStrideBytes, int heads, in Operands o, WorkerPool pool)
    {
        if (heads < 1 || o.Tokens < 0)
            throw new ArgumentOutOfRangeException(nameof(heads));
        if (o.Tokens == 0)
            return;
        var actType = QuantCodecs.VecDotType(head0.Type);
        bool direct = head0.Type == GgmlType.F32;
        long actRowBytes = GgmlTypes.Get(actType).RowBytes(head0.Cols);
        var job = new Job
        {
            W = head0.Data, WRowBytes = head0.RowBytes, HeadBytes = headStrideBytes, Type = head0.Type, ActType = actType,
            Rows = head0.Rows, Cols = head0.Cols, Heads = heads, O = o, Direct = direct, ActRowBytes = actRowBytes,
            Chunks = (head0.Rows + ChunkRows - 1) / ChunkRows,
        };
        if (!direct)
        {
            job.Act = pool.Scratch(actRowBytes * heads * o.Tokens);
            pool.Run(heads, &QuantizeHead, &job);
        }
        pool.Run(heads * job.Chunks, &Chunk, &job);
    }

    private struct Job
    {
        public byte* W;
        public long WRowBytes, HeadBytes, ActRowBytes;
        public GgmlType Type, ActType;
        public int Rows, Cols, Heads, Chunks;
        public Operands O;
        public bool Direct;
        public byte* Act;
    }

    private static void QuantizeHead(void* state, int h)
    {
        var job = (Job*)state;
        ref readonly var o = ref job->O;
        for (int t = 0; t < o.Tokens; t++)
            ActivationQuantizer.Quantize(job->ActType, new ReadOnlySpan<float>(o.X + h * o.XHead + t * o.XToken, job->Cols),
                new Span<byte>(job->Act + ((long)h * o.Tokens + t) * job->ActRowBytes, (int)job->ActRowBytes));
    }

    private static void Chunk(void* state, int task)
    {
        var job = (Job*)state;
        ref readonly var o = ref job->O;
        int h = task / job->Chunks, r0 = task % job->Chunks * ChunkRows, count = Math.Min(ChunkRows, job->Rows - r0);
        byte* w = job->W + h * job->HeadBytes + r0 * job->WRowBytes;
        if (job->Direct)
        {
            for (int t = 0; t < o.Tokens; t++)
                DotRows((float*)w, job->Cols, o.X + h * o.XHead + t * o.XToken, o.Y + h * o.YHead + t * o.YToken + r0, count);
            return;
        }
        var codec = QuantCodecs.GetCodec(job->Type);
        byte* act = job->Act + (long)h * o.Tokens * job->ActRowBytes;
        int k = 0;
        for (; k + 1 < o.Tokens; k += 2)
            codec.VecDotRowsTwoTokens(w, job->WRowBytes, act + k * job->ActRowBytes, act + (k + 1) * job->ActRowBytes, job->Cols,
                o.Y + h * o.YHead + k * o.YToken + r0, o.Y + h * o.YHead + (k + 1) * o.YToken + r0, count);
        if (k < o.Tokens)
            codec.VecDotRows(w, job->WRowBytes, act + k * job->ActRowBytes, job->Cols, o.Y + h * o.YHead + k * o.YToken + r0, count);
    }

    /// <summary>y[r] = Σ_k w[r·cols + k]·x[k] for r &lt; rows (F32 weights), four rows per pass sharing the x loads.</summary>
    internal static void DotRows(float* w, int cols, float* x, float* y, int rows)
    {
        int r = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; r + 4 <= rows; r += 4)
            {
                float* w0 = w + (long)r * cols, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
                var a0 = Vector256<float>.Zero; var a1 = Vector256<float>.Zero;
                var a2 = Vector256<float>.Zero; var a3 = Vector256<float>.Zero;
                int k = 0;
                for (; k + 8 <= cols; k += 8)
                {
                    var xv = Vector256.Load(x + k);
                    a0 = Lanes256.MulAdd(Vector256.Load(w0 + k), xv, a0);
                    a1 = Lanes256.MulAdd(Vector256.Load(w1 + k), xv, a1);
                    a2 = Lanes256.MulAdd(Vector256.Load(w2 + k), xv, a2);
                    a3 = Lanes256.MulAdd(Vector256.Load(w3 + k), xv, a3);
                }
                float s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2), s3 = Vector256.Sum(a3);
                for (; k < cols; k++)
                {
                    s0 += w0[k] * x[k]; s1 += w1[k] * x[k]; s2 += w2[k] * x[k]; s3 += w3[k] * x[k];
                }
                y[r] = s0; y[r + 1] = s1; y[r + 2] = s2; y[r + 3] = s3;
            }
        }
        for (; r < rows; r++)
        {
            float* wr = w + (long)r * cols;
            var acc = Vector128<float>.Zero;
            int k = 0;
            for (; k + 4 <= cols; k += 4)
                acc = Lanes128.MulAdd(Vector128.Load(wr + k), Vector128.Load(x + k), acc);
            float s = Vector128.Sum(acc);
            for (; k < cols; k++)
                s += wr[k] * x[k];
            y[r] = s;
        }
    }
}
