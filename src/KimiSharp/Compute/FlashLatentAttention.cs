using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using KimiSharp.Quants;

namespace KimiSharp.Compute;

/// <summary>One sequence's absorbed-MLA attention problem (see <see cref="FlashLatentAttention"/>).</summary>
public readonly unsafe struct LatentAttentionInput
{
    /// <summary>Query rows [Tokens, Heads, Latent + Rope]: latent-absorbed q_nope, then roped q_pe.</summary>
    public float* Queries { get; init; }
    public int Tokens { get; init; }
    public int Heads { get; init; }
    /// <summary>kv_lora_rank: the latent part of a row, which is also the value vector.</summary>
    public int Latent { get; init; }
    public int Rope { get; init; }
    /// <summary>Position of the first query token: token i attends to cache rows 0..Start+i (causal).</summary>
    public int Start { get; init; }
    /// <summary>Score scale (kq_scale).</summary>
    public float Scale { get; init; }
    /// <summary>o_lat: token i, head h goes to Output + h·OutputHeadStride + i·OutputTokenStride (Latent floats).</summary>
    public float* Output { get; init; }
    public long OutputHeadStride { get; init; }
    public long OutputTokenStride { get; init; }
}

/// <summary>
/// Absorbed MLA attention as matrix products, flash style. Query rows (a tile of tokens × heads, up to 64) are the
/// SIMD lanes; the cache is read a block of rows at a time (F16/Q8_0 decoded per block):
/// <code>
///   S = Qᵀ-tile · K_blockᵀ · scale            scores of every (row, key) of the block
///   m' = max(m, max_j S);  α = e^(m − m');  P = e^(S − m')      online softmax (running max m and sum l)
///   l = α·l + Σ_j P;  O = α·O + P · V_block                   V = the first Latent values of each row
///   o_lat = O / l                                             after the last block
/// </code>
/// Causal masking is per block: only blocks past a tile's first token compare positions, and masked weights are
/// exactly 0. Every row's arithmetic is lane-wise and blocks start at multiples of the block size from row 0, so
/// a token's result does not depend on which tile or batch it ran in (prefill equals decode bit for bit).
/// Tiles (and head groups, when there are too few tiles for the threads) are spread over the worker pool.
/// </summary>
public static unsafe class FlashLatentAttention
{
    /// <summary>Query rows per tile the tiling aims for (tokens × heads).</summary>
    public const int TargetLanes = 64;

    /// <summary>Widest strip of lanes any path uses (two 512-bit vectors).</summary>
    private const int MaxStrip = 32;

    /// <summary>Query rows a tile may hold for <paramref name="heads"/> heads (scratch sizing).</summary>
    public static int MaxTileLanes(int heads) => RoundUp(Math.Max(TargetLanes, heads), MaxStrip);

    /// <summary>The SIMD path <see cref="Attend(in LatentAttentionInput, in PagedRows, FlashAttentionScratch, WorkerPool)"/> takes here.</summary>
    public static SimdLevel BestLevel { get; } =
        Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? SimdLevel.Avx512
        : Vector256.IsHardwareAccelerated ? SimdLevel.Avx2
        : SimdLevel.Vector128;

    /// <summary>Writes o_lat for every query row of <paramref name="input"/>.</summary>
    public static void Attend(in LatentAttentionInput input, in PagedRows cache, FlashAttentionScratch scratch, WorkerPool pool) =>
        Attend(input, cache, scratch, pool, BestLevel);

    /// <summary>As above on a chosen SIMD path (tests run each available one).</summary>
    internal static void Attend(in LatentAttentionInput input, in PagedRows cache, FlashAttentionScratch scratch, WorkerPool pool, SimdLevel level)
    {
        Validate(input, cache, scratch, pool);
        if (input.Tokens == 0)
            return;
        int count = level switch { SimdLevel.Avx512 => 16, SimdLevel.Avx2 => 8, _ => 4 };
        var job = Plan(input, cache, scratch, 2 * count, pool.Threads);
        int tasks = Math.Min(pool.Threads, job.Items);
        delegate* managed<void*, int, void> task = level switch
        {
            SimdLevel.Avx512 => &Task<Lanes512, Vector512<float>>,
            SimdLevel.Avx2 => &Task<Lanes256, Vector256<float>>,
            _ => &Task<Lanes128, Vector128<float>>,
        };
        pool.Run(tasks, task, &job);
    }

    private static void Validate(in LatentAttentionInput input, in PagedRows cache, FlashAttentionScratch scratch, WorkerPool pool)
    {
        if (input.Tokens < 0 || input.Start < 0)
            throw new ArgumentOutOfRangeException(nameof(input), "tokens and start must be non-negative");
        if (input.Heads != scratch.Heads || input.Latent != scratch.Latent || input.Rope != scratch.Rope)
            throw new ArgumentException($"scratch is for {scratch.Heads} heads × ({scratch.Latent}+{scratch.Rope}), " +
                $"the input has {input.Heads} × ({input.Latent}+{input.Rope})", nameof(scratch));
        if (cache.RowLength != input.Latent + input.Rope)
            throw new ArgumentException($"cache rows hold {cache.RowLength} values, queries {input.Latent + input.Rope}", nameof(cache));
        if (cache.ElementType is not (GgmlType.F32 or GgmlType.F16 or GgmlType.Q8_0))
            throw new ArgumentException($"KV rows are F32, F16 or Q8_0, not {cache.ElementType}", nameof(cache));
        if (cache.RowBytes < GgmlTypes.Get(cache.ElementType).RowBytes(KvRowDecoder.StoredLength(cache.ElementType, cache.RowLength)))
            throw new ArgumentException($"{cache.RowBytes} bytes cannot hold a {cache.ElementType} row of {cache.RowLength} values", nameof(cache));
        if (input.Start + input.Tokens > cache.Count || cache.PageRows < 1)
            throw new ArgumentException($"tokens reach position {input.Start + input.Tokens - 1}, the cache holds {cache.Count} rows", nameof(cache));
        if (pool.Threads > scratch.Workers)
            throw new ArgumentException($"scratch has room for {scratch.Workers} workers, the pool has {pool.Threads}", nameof(scratch));
        if (scratch.Base == null)
            throw new ObjectDisposedException(nameof(FlashAttentionScratch));
    }

    /// <summary>Everything a task needs; tasks take work items from <see cref="NextItem"/>.</summary>
    private struct Job
    {
        public LatentAttentionInput In;
        public PagedRows Cache;
        public float* Scratch;
        public long WorkerFloats, QtOffset, ScoresOffset, OutOffset, KeysOffset, MaxOffset, SumOffset, AlphaOffset, PositionOffset;
        public int KeyBlock;
        /// <summary>Tokens per tile, heads per group, groups per tile, tiles, items (tiles × groups).</summary>
        public int TileTokens, GroupHeads, Groups, Tiles, Items;
        public int NextItem;
    }

    /// <summary>
    /// Tiles of ⌊64/heads⌋ tokens (at least one) × all heads; heads split into halves while there are fewer items than
    /// threads and each half still fills a strip (e.g. Kimi-K2's 64 heads decode as two groups of 32).
    /// </summary>
    private static Job Plan(in LatentAttentionInput input, in PagedRows cache, FlashAttentionScratch scratch, int strip, int threads)
    {
        int heads = input.Heads;
        int tileTokens = Math.Min(input.Tokens, Math.Max(1, TargetLanes / heads));
        int tiles = (input.Tokens + tileTokens - 1) / tileTokens;
        int groupHeads = heads;
        while (tiles * (heads / groupHeads) < threads && groupHeads % 2 == 0 && groupHeads / 2 >= strip)
            groupHeads /= 2;
        int groups = heads / groupHeads;
        return new Job
        {
            In = input, Cache = cache, Scratch = scratch.Base, WorkerFloats = scratch.FloatsPerWorker,
            QtOffset = scratch.QtOffset, ScoresOffset = scratch.ScoresOffset, OutOffset = scratch.OutOffset,
            KeysOffset = scratch.KeysOffset, MaxOffset = scratch.MaxOffset, SumOffset = scratch.SumOffset,
            AlphaOffset = scratch.AlphaOffset, PositionOffset = scratch.PositionOffset, KeyBlock = scratch.KeyBlock,
            TileTokens = tileTokens, GroupHeads = groupHeads, Groups = groups, Tiles = tiles, Items = tiles * groups,
        };
    }

    /// <summary>
    /// Rows j0..j0+n−1 as F32 rows: in place for F32 rows inside one page, else decoded (or copied) into
    /// <paramref name="scratch"/>. <paramref name="stride"/> receives the floats from one row to the next.
    /// </summary>
    internal static float* Block(in PagedRows rows, int j0, int n, float* scratch, out int stride)
    {
        var type = rows.ElementType;
        if (type == GgmlType.F32 && rows.RowBytes % sizeof(float) == 0 && j0 / rows.PageRows == (j0 + n - 1) / rows.PageRows)
        {
            stride = (int)(rows.RowBytes / sizeof(float));
            return (float*)rows.Row(j0);
        }
        stride = KvRowDecoder.StoredLength(type, rows.RowLength);
        for (int j = 0; j < n; j++)
            KvRowDecoder.Decode(type, rows.Row(j0 + j), scratch + (long)j * stride, rows.RowLength);
        return scratch;
    }

    /// <summary>One worker: scratch slot <paramref name="slot"/>, items taken from the shared counter, longest first.</summary>
    private static void Task<TL, TV>(void* state, int slot) where TL : struct, IFloatLanes<TV> where TV : struct
    {
        var job = (Job*)state;
        float* scratch = job->Scratch + slot * job->WorkerFloats;
        while (true)
        {
            int item = Interlocked.Increment(ref job->NextItem) - 1;
            if (item >= job->Items)
                return;
            // Later tiles see more keys: hand them out first.
            int tile = job->Tiles - 1 - item / job->Groups, group = item % job->Groups;
            int t0 = tile * job->TileTokens;
            int tokens = Math.Min(job->TileTokens, job->In.Tokens - t0);
            Tile<TL, TV>(job, scratch, t0, tokens, group * job->GroupHeads);
        }
    }

    /// <summary>Attention of tokens t0..t0+tokens−1 × heads h0..h0+GroupHeads−1 over their visible cache rows.</summary>
    private static void Tile<TL, TV>(Job* job, float* scratch, int t0, int tokens, int h0) where TL : struct, IFloatLanes<TV> where TV : struct
    {
        ref readonly var p = ref job->In;
        int c = TL.Count, w = 2 * c;
        int g = job->GroupHeads, lanes = tokens * g, strips = (lanes + w - 1) / w;
        int r = p.Latent, row = p.Latent + p.Rope, block = job->KeyBlock;
        float* qt = scratch + job->QtOffset, scores = scratch + job->ScoresOffset, o = scratch + job->OutOffset;
        float* keyScratch = scratch + job->KeysOffset, rowMax = scratch + job->MaxOffset, rowSum = scratch + job->SumOffset;
        float* alpha = scratch + job->AlphaOffset, pos = scratch + job->PositionOffset;

        // Qt strip s, lane k of the strip, dimension d at qt[(s·row + d)·w + k]: scaled query; padding lanes are zero.
        // Lane m = token·g + head (within the tile).
        for (int m = 0; m < strips * w; m++)
        {
            float* dst = qt + (long)(m / w) * row * w + m % w;
            if (m < lanes)
            {
                int token = t0 + m / g, head = h0 + m % g;
                float* q = p.Queries + ((long)token * p.Heads + head) * row;
                for (int d = 0; d < row; d++)
                    dst[(long)d * w] = q[d] * p.Scale;
                pos[m] = p.Start + token;
            }
            else
            {
                for (int d = 0; d < row; d++)
                    dst[(long)d * w] = 0;
                pos[m] = p.Start + t0;
            }
            rowMax[m] = float.NegativeInfinity;
            rowSum[m] = 0;
        }
        new Span<float>(o, strips * w * r).Clear();

        int end = p.Start + t0 + tokens;          // keys 0..end−1 are seen by some row of the tile
        int allSee = p.Start + t0 + 1;            // keys 0..allSee−1 are seen by every row
        for (int j0 = 0; j0 < end; j0 += block)
        {
            int n = Math.Min(block, end - j0);
            float* keys = Block(job->Cache, j0, n, keyScratch, out int stride);
            bool masked = j0 + n > allSee;
            for (int s = 0; s < strips; s++)
            {
                float* st = scores + (long)s * block * w;
                FlashKernels.Scores<TL, TV>(keys, stride, row, n, qt + (long)s * row * w, st, w, w);
                FlashKernels.SoftmaxStep<TL, TV>(st, n, w, j0, masked, rowMax + s * w, rowSum + s * w, alpha + s * w, pos + s * w);
                FlashKernels.AccumulateValues<TL, TV>(keys, stride, n, r, st, w, alpha + s * w, o + (long)s * r * w);
            }
        }

        // o_lat[token, head] = O / l.
        for (int m = 0; m < lanes; m++)
        {
            int token = t0 + m / g, head = h0 + m % g;
            float* src = o + (long)(m / w) * r * w + m % w;
            float* dst = p.Output + head * p.OutputHeadStride + token * p.OutputTokenStride;
            float inv = 1f / rowSum[m];
            for (int d = 0; d < r; d++)
                dst[d] = src[(long)d * w] * inv;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int RoundUp(int x, int m) => (x + m - 1) / m * m;
}
