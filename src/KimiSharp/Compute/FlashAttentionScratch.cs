using System.Runtime.InteropServices;

namespace KimiSharp.Compute;

/// <summary>
/// Per-worker scratch of <see cref="FlashLatentAttention"/> for one model shape, allocated once (native, 64-byte
/// aligned) and reused by every call: for a tile of up to <see cref="MaxLanes"/> query rows (tokens × heads) the
/// transposed queries, one block of scores, the output accumulators, one decoded KV block, and per-row softmax state.
/// </summary>
public sealed unsafe class FlashAttentionScratch : IDisposable
{
    /// <param name="workers">Threads that may run the kernel at once (the pool's thread count).</param>
    /// <param name="heads">Query heads.</param>
    /// <param name="latent">kv_lora_rank (values per row that are also the value vector).</param>
    /// <param name="rope">Roped key dimensions after the latent.</param>
    /// <param name="keyBlock">KV rows per block; 0 picks one from the row length (blocks sized for L1/L2).</param>
    public FlashAttentionScratch(int workers, int heads, int latent, int rope, int keyBlock = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(latent, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rope);
        ArgumentOutOfRangeException.ThrowIfNegative(keyBlock);
        Workers = workers;
        Heads = heads;
        Latent = latent;
        Rope = rope;
        int row = latent + rope;
        KeyBlock = keyBlock > 0 ? keyBlock : DefaultKeyBlock(row);
        MaxLanes = FlashLatentAttention.MaxTileLanes(heads);

        // Per worker: Qt [lanes × row], scores [lanes × block], O [lanes × latent], K block [block × row],
        // then row max, row sum, rescale factor and position per lane.
        QtOffset = 0;
        ScoresOffset = QtOffset + Align((long)MaxLanes * row);
        OutOffset = ScoresOffset + Align((long)MaxLanes * KeyBlock);
        KeysOffset = OutOffset + Align((long)MaxLanes * latent);
        MaxOffset = KeysOffset + Align((long)KeyBlock * ((row + 31) / 32 * 32));   // decoded rows, Q8_0 padding included
        SumOffset = MaxOffset + Align(MaxLanes);
        AlphaOffset = SumOffset + Align(MaxLanes);
        PositionOffset = AlphaOffset + Align(MaxLanes);
        FloatsPerWorker = PositionOffset + Align(MaxLanes);
        Bytes = FloatsPerWorker * workers * sizeof(float);
        Base = (float*)NativeMemory.AlignedAlloc((nuint)Bytes, 64);
        new Span<byte>(Base, checked((int)Math.Min(Bytes, int.MaxValue))).Clear();
    }

    public int Workers { get; }
    public int Heads { get; }
    public int Latent { get; }
    public int Rope { get; }
    /// <summary>KV rows per block.</summary>
    public int KeyBlock { get; }
    /// <summary>Query rows per tile (padded to whole vectors of the widest SIMD path).</summary>
    public int MaxLanes { get; }
    public long Bytes { get; }

    internal float* Base { get; private set; }
    internal long FloatsPerWorker { get; }
    internal long QtOffset { get; }
    internal long ScoresOffset { get; }
    internal long OutOffset { get; }
    internal long KeysOffset { get; }
    internal long MaxOffset { get; }
    internal long SumOffset { get; }
    internal long AlphaOffset { get; }
    internal long PositionOffset { get; }

    /// <summary>
    /// KV rows per block: about 32 KiB of F32 rows (L1), 16 or 32 rows, so that blocks tile the engine's 32-row KV pages
    /// and F32 rows are read in place. The block size is fixed per shape, never per call or page size: blocks start at
    /// multiples of it, which keeps every token's sums the same in any batch.
    /// </summary>
    private static int DefaultKeyBlock(int row) => row * 32 * sizeof(float) <= 32 * 1024 ? 32 : 16;

    private static long Align(long floats) => (floats + 15) / 16 * 16;

    public void Dispose()
    {
        if (Base != null)
            NativeMemory.AlignedFree(Base);
        Base = null;
    }
}
