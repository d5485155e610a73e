using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using KimiSharp.Quants;

namespace KimiSharp.Compute;

/// <summary>One sequence's prompt chunk for <see cref="FlashMhaAttention"/>: queries, shapes and where o goes.</summary>
public readonly unsafe struct MhaAttentionInput
{
    /// <summary>q_nope of token t, head h at QueryNope + t·NopeTokenStride + h·NopeHeadStride (Nope floats).</summary>
    public float* QueryNope { get; init; }
    /// <summary>Roped q_pe of token t, head h at QueryRope + t·RopeTokenStride + h·RopeHeadStride (Rope floats).</summary>
    public float* QueryRope { get; init; }
    public long NopeTokenStride { get; init; }
    public long NopeHeadStride { get; init; }
    public long RopeTokenStride { get; init; }
    public long RopeHeadStride { get; init; }
    public int Tokens { get; init; }
    public int Heads { get; init; }
    public int Nope { get; init; }
    public int Rope { get; init; }
    public int Latent { get; init; }
    public int Value { get; init; }
    /// <summary>Position of the first token: token i attends to cache rows 0..Start+i.</summary>
    public int Start { get; init; }
    public float Scale { get; init; }
    /// <summary>Head output (Value floats) of token t, head h at Output + t·OutputTokenStride + h·OutputHeadStride.</summary>
    public float* Output { get; init; }
    public long OutputTokenStride { get; init; }
    public long OutputHeadStride { get; init; }
}

/// <summary>
/// MLA attention in its decompressed (MHA) form, for long prompt chunks: per head, the cached latents c_j of a block are
/// expanded to k_nope_j = W_kbᵀ·c_j and v_j = W_vb·c_j, and the chunk's queries (q_nope | roped q_pe) attend to
/// [k_nope | k_pe] with values v, flash style (online softmax over blocks, the chunk's tokens as SIMD lanes). The result
/// is each head's output o = W_vb·o_lat directly. Per (query, key) pair it costs Nope + Rope + Value multiply-adds
/// instead of the absorbed form's 2·Latent + Rope (Kimi-K2: 320 against 1088), for one expansion of every visible row per
/// head and chunk (Latent·(Nope + Value) each); <see cref="Pays"/> weighs the two. Same numbers up to rounding: the
/// default path's choice for chunks long enough, never in exact or batch-invariant mode.
/// </summary>
public static unsafe class FlashMhaAttention
{
    /// <summary>Whether the decompressed form does fewer multiply-adds than the absorbed one (with a 15% margin for its
    /// extra passes) for <paramref name="tokens"/> queries against <paramref name="visible"/> rows.</summary>
    public static bool Pays(int tokens, int visible, int latent, int nope, int rope, int value)
    {
        double absorbed = (double)tokens * visible * (2 * latent + rope) + (double)tokens * latent * (nope + value);
        double expanded = (double)visible * latent * (nope + value) + (double)tokens * visible * (nope + rope + value)
            + (double)tokens * tokens / 2 * (nope + rope + value);
        return expanded < 0.85 * absorbed;
    }

    /// <summary>Whether the kernel handles these head sizes here (nope and value parts in whole strips of lanes).</summary>
    public static bool Supports(int nope, int value) => nope % Strip(FlashLatentAttention.BestLevel) == 0 && value % Strip(FlashLatentAttention.BestLevel) == 0;

    private static int Strip(SimdLevel level) => 2 * (level switch { SimdLevel.Avx512 => 16, SimdLevel.Avx2 => 8, _ => 4 });

    /// <param name="kb0">Head 0's attn_k_b (Latent rows × Nope columns); head h's begins <paramref name="kbStride"/>·h bytes later.</param>
    /// <param name="vb0">Head 0's attn_v_b (Value rows × Latent columns).</param>
    public static void Attend(in MhaAttentionInput input, in PagedRows cache, in QuantMatrix kb0, long kbStride, in QuantMatrix vb0,
        long vbStride, MhaScratch scratch, WorkerPool pool) => Attend(input, cache, kb0, kbStride, vb0, vbStride, scratch, pool, FlashLatentAttention.BestLevel);

    internal static void Attend(in MhaAttentionInput input, in PagedRows cache, in QuantMatrix kb0, long kbStride, in QuantMatrix vb0,
        long vbStride, MhaScratch scratch, WorkerPool pool, SimdLevel level)
    {
        int w = Strip(level);
        if (input.Nope % w != 0 || input.Value % w != 0)
            throw new ArgumentException($"nope ({input.Nope}) and value ({input.Value}) dimensions must be multiples of {w} here", nameof(input));
        if (kb0.Rows != input.Latent || kb0.Cols != input.Nope || vb0.Rows != input.Value || vb0.Cols != input.Latent)
            throw new ArgumentException($"attn_k_b must be {input.Latent}×{input.Nope} and attn_v_b {input.Value}×{input.Latent} per head", nameof(kb0));
        if (cache.RowLength != input.Latent + input.Rope || input.Start + input.Tokens > cache.Count)
            throw new ArgumentException($"the cache rows ({cache.Count} of {cache.RowLength} values) do not cover the chunk", nameof(cache));
        if (input.Tokens > scratch.MaxTokens || input.Heads > scratch.Heads || scratch.Nope != input.Nope || scratch.Rope != input.Rope
            || scratch.Latent != input.Latent || scratch.Value != input.Value || pool.Threads > scratch.Workers)
            throw new ArgumentException("scratch was sized for another shape, chunk or pool", nameof(scratch));
        if (input.Tokens == 0)
            return;
        var job = new Job
        {
            In = input, Cache = cache, Kb = kb0.Data, KbRowBytes = kb0.RowBytes, KbStride = kbStride, KbType = kb0.Type,
            Vb = vb0.Data, VbRowBytes = vb0.RowBytes, VbStride = vbStride, VbType = vb0.Type, Scratch = scratch.Base,
            Layout = scratch.Layout, Items = input.Heads,
        };
        delegate* managed<void*, int, void> task = level switch
        {
            SimdLevel.Avx512 => &Task<Lanes512, Vector512<float>>,
            SimdLevel.Avx2 => &Task<Lanes256, Vector256<float>>,
            _ => &Task<Lanes128, Vector128<float>>,
        };
        pool.Run(Math.Min(pool.Threads, job.Items), task, &job);
    }

    private struct Job
    {
        public MhaAttentionInput In;
        public PagedRows Cache;
        public byte* Kb, Vb;
        public long KbRowBytes, KbStride, VbRowBytes, VbStride;
        public GgmlType KbType, VbType;
        public float* Scratch;
        public MhaScratch.Offsets Layout;
        public int Items, NextItem;
    }

    private static void Task<TL, TV>(void* state, int slot) where TL : struct, IFloatLanes<TV> where TV : struct
    {
        var job = (Job*)state;
        float* scratch = job->Scratch + slot * job->Layout.PerWorker;
        while (true)
        {
            int head = Interlocked.Increment(ref job->NextItem) - 1;
            if (head >= job->Items)
                return;
            Head<TL, TV>(job, scratch, head);
        }
    }

    /// <summary>All the chunk's tokens for one head: expand each block of cache rows once, then every strip of tokens.</summary>
    private static void Head<TL, TV>(Job* job, float* scratch, int h) where TL : struct, IFloatLanes<TV> where TV : struct
    {
        ref readonly var p = ref job->In;
        ref readonly var l = ref job->Layout;
        int w = 2 * TL.Count, dn = p.Nope, dr = p.Rope, dv = p.Value, r = p.Latent, dk = dn + dr;
        int lanes = p.Tokens, strips = (lanes + w - 1) / w, block = l.KeyBlock;
        float* qt = scratch + l.Qt, scores = scratch + l.Scores, o = scratch + l.Out, kbs = scratch + l.KbStrips, vbs = scratch + l.VbStrips;
        float* keys = scratch + l.Keys, values = scratch + l.Values, latents = scratch + l.Latents, tmp = scratch + l.Row;
        float* rowMax = scratch + l.Max, rowSum = scratch + l.Sum, alpha = scratch + l.Alpha, pos = scratch + l.Position;

        // W_kb[h] (Latent × Nope) as strips [Nope/w][Latent][w]; W_vb[h]ᵀ (Latent × Value) likewise.
        for (int i = 0; i < r; i++)
        {
            Dequantize(job->KbType, job->Kb + h * job->KbStride + i * job->KbRowBytes, tmp, dn);
            for (int d = 0; d < dn; d++)
                kbs[((long)(d / w) * r + i) * w + d % w] = tmp[d];
        }
        for (int d = 0; d < dv; d++)
        {
            Dequantize(job->VbType, job->Vb + h * job->VbStride + d * job->VbRowBytes, tmp, r);
            for (int i = 0; i < r; i++)
                vbs[((long)(d / w) * r + i) * w + d % w] = tmp[i];
        }

        // Queries as strips of w tokens: qt[(s·dk + d)·w + lane] = scale·[q_nope | q_pe]; padding lanes zero.
        for (int m = 0; m < strips * w; m++)
        {
            float* dst = qt + (long)(m / w) * dk * w + m % w;
            if (m < lanes)
            {
                float* qn = p.QueryNope + m * p.NopeTokenStride + h * p.NopeHeadStride;
                float* qr = p.QueryRope + m * p.RopeTokenStride + h * p.RopeHeadStride;
                for (int d = 0; d < dn; d++)
                    dst[(long)d * w] = qn[d] * p.Scale;
                for (int d = 0; d < dr; d++)
                    dst[(long)(dn + d) * w] = qr[d] * p.Scale;
                pos[m] = p.Start + m;
            }
            else
            {
                for (int d = 0; d < dk; d++)
                    dst[(long)d * w] = 0;
                pos[m] = p.Start + m / w * w;
            }
            rowMax[m] = float.NegativeInfinity;
            rowSum[m] = 0;
        }
        new Span<float>(o, strips * w * dv).Clear();

        int end = p.Start + lanes;
        for (int j0 = 0; j0 < end; j0 += block)
        {
            int n = Math.Min(block, end - j0);
            float* c = FlashLatentAttention.Block(job->Cache, j0, n, latents, out int stride);
            // keys[j] = [W_kbᵀ·c_j | k_pe_j], values[j] = W_vb·c_j.
            for (int s = 0; s < dn / w; s++)
                FlashKernels.Scores<TL, TV>(c, stride, r, n, kbs + (long)s * r * w, keys + s * w, w, dk);
            for (int j = 0; j < n; j++)
                new ReadOnlySpan<float>(c + (long)j * stride + r, dr).CopyTo(new Span<float>(keys + (long)j * dk + dn, dr));
            for (int s = 0; s < dv / w; s++)
                FlashKernels.Scores<TL, TV>(c, stride, r, n, vbs + (long)s * r * w, values + s * w, w, dv);

            for (int s = 0; s < strips; s++)
            {
                int first = p.Start + s * w;                      // position of the strip's first token
                if (j0 > first + w - 1)
                    continue;                                      // the whole block is in the strip's future
                bool masked = j0 + n - 1 > first;
                float* st = scores + (long)s * block * w;
                FlashKernels.Scores<TL, TV>(keys, dk, dk, n, qt + (long)s * dk * w, st, w, w);
                FlashKernels.SoftmaxStep<TL, TV>(st, n, w, j0, masked, rowMax + s * w, rowSum + s * w, alpha + s * w, pos + s * w);
                FlashKernels.AccumulateValues<TL, TV>(values, dv, n, dv, st, w, alpha + s * w, o + (long)s * dv * w);
            }
        }

        for (int m = 0; m < lanes; m++)
        {
            float* src = o + (long)(m / w) * dv * w + m % w;
            float* dst = p.Output + m * p.OutputTokenStride + h * p.OutputHeadStride;
            float inv = 1f / rowSum[m];
            for (int d = 0; d < dv; d++)
                dst[d] = src[(long)d * w] * inv;
        }
    }

    private static void Dequantize(GgmlType type, byte* row, float* dst, int n)
    {
        if (type == GgmlType.F32)
            new ReadOnlySpan<float>(row, n).CopyTo(new Span<float>(dst, n));
        else
            QuantCodecs.Dequantize(type, new ReadOnlySpan<byte>(row, checked((int)GgmlTypes.Get(type).RowBytes(n))), new Span<float>(dst, n));
    }
}

/// <summary>Per-worker scratch of <see cref="FlashMhaAttention"/> for one shape and chunk size (native, 64-byte aligned).</summary>
public sealed unsafe class MhaScratch : IDisposable
{
    internal readonly struct Offsets
    {
        public long Qt { get; init; }
        public long Scores { get; init; }
        public long Out { get; init; }
        public long KbStrips { get; init; }
        public long VbStrips { get; init; }
        public long Keys { get; init; }
        public long Values { get; init; }
        public long Latents { get; init; }
        public long Row { get; init; }
        public long Max { get; init; }
        public long Sum { get; init; }
        public long Alpha { get; init; }
        public long Position { get; init; }
        public long PerWorker { get; init; }
        public int KeyBlock { get; init; }
    }

    /// <summary>KV rows expanded per block: the expansion's weights stream once per block, so blocks are larger here.</summary>
    public const int KeyBlock = 32;

    public MhaScratch(int workers, int maxTokens, int heads, int latent, int rope, int nope, int value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        (Workers, MaxTokens, Heads, Latent, Rope, Nope, Value) = (workers, maxTokens, heads, latent, rope, nope, value);
        long lanes = (maxTokens + 31) / 32 * 32, dk = nope + rope, rowPadded = (latent + rope + 31) / 32 * 32;
        long at = 0;
        long Take(long floats) { long start = at; at += (floats + 15) / 16 * 16; return start; }
        Layout = new Offsets
        {
            Qt = Take(lanes * dk), Scores = Take(lanes * KeyBlock), Out = Take(lanes * value),
            KbStrips = Take((long)latent * nope), VbStrips = Take((long)latent * value),
            Keys = Take(KeyBlock * dk), Values = Take((long)KeyBlock * value), Latents = Take(KeyBlock * rowPadded),
            Row = Take(Math.Max(latent, nope) + 32),
            Max = Take(lanes), Sum = Take(lanes), Alpha = Take(lanes), Position = Take(lanes),
            PerWorker = at, KeyBlock = KeyBlock,
        };
        Bytes = at * workers * sizeof(float);
        Base = (float*)NativeMemory.AlignedAlloc((nuint)Bytes, 64);
    }

    public int Workers { get; }
    public int MaxTokens { get; }
    public int Heads { get; }
    public int Latent { get; }
    public int Rope { get; }
    public int Nope { get; }
    public int Value { get; }
    public long Bytes { get; }
    internal float* Base { get; private set; }
    internal Offsets Layout { get; }

    public void Dispose()
    {
        if (Base != null)
            NativeMemory.AlignedFree(Base);
        Base = null;
    }
}
