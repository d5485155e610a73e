using System.Runtime.InteropServices;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>
/// All scratch a forward pass needs for a step of up to <see cref="Capacity"/> tokens, allocated once (native memory,
/// freed on dispose); the attention scratch grows with the longest context seen (<see cref="EnsureAttention"/>).
/// </summary>
internal sealed unsafe class ForwardBuffers : IDisposable
{
    private readonly List<nint> _blocks = [];

    public ForwardBuffers(DeepSeek2Config c, int capacity, int workers)
    {
        Capacity = capacity;
        int b = capacity, e = c.EmbeddingLength, h = c.HeadCount;
        int ff = c.FeedForwardLength.DefaultIfEmpty(0).Max();
        int ffShared = c.ExpertFeedForwardLength * c.ExpertSharedCount;
        int ffWide = Math.Max(Math.Max(ff, ffShared), c.ExpertFeedForwardLength);
        X = Alloc(b * e);
        H = Alloc(b * e);
        QA = Alloc(b * Math.Max(c.QLoraRank, 1));
        Q = Alloc(b * h * c.QkHeadDim);
        KvA = Alloc(b * c.LatentRowLength);
        QNope = Alloc(h * b * c.QkNopeDim);
        QAbs = Alloc(h * b * c.KvLoraRank);
        QFull = Alloc(b * h * c.LatentRowLength);
        OLat = Alloc(h * b * c.KvLoraRank);
        OHead = Alloc(h * b * c.ValueHeadDim);
        AttnOut = Alloc(b * h * c.ValueHeadDim);
        Proj = Alloc(b * e);
        Gate = Alloc(b * ffWide);
        Up = Alloc(b * ffWide);
        Down = Alloc(b * e);
        RopeCos = Alloc(b * c.RopeDim / 2);
        RopeSin = Alloc(b * c.RopeDim / 2);
        Positions = (int*)AllocBytes(sizeof(int) * (long)b);
        OutputRows = (int*)AllocBytes(sizeof(int) * (long)b);
        ScoreChunks = Math.Max(1, workers * 4);
        _rowLength = c.LatentRowLength;
        _config = c;
        _workers = workers;
        if (c.ExpertCount > 0)
        {
            int k = c.ExpertUsedCount;
            RouterLogits = Alloc(b * c.ExpertCount);
            Selection = Alloc(c.ExpertCount);
            ExpertWeights = Alloc(b * k);
            ChosenExperts = (int*)AllocBytes(sizeof(int) * (long)b * k);
            ExpertCounts = (int*)AllocBytes(sizeof(int) * (long)c.ExpertCount);
            ExpertOffsets = (int*)AllocBytes(sizeof(int) * ((long)c.ExpertCount + 1));
            ExpertPairs = (int*)AllocBytes(sizeof(int) * (long)b * k);
            TokenRows = (int*)AllocBytes(sizeof(int) * (long)b);
            // Large enough for any vec_dot type (F32 is the widest at 4 bytes per value).
            QuantizedGate = new ByteBuffer((byte*)AllocBytes((long)b * e * 4 + 64), (long)b * e * 4 + 64);
            QuantizedUp = new ByteBuffer((byte*)AllocBytes((long)b * e * 4 + 64), (long)b * e * 4 + 64);
            SlotOutputs = Alloc((long)b * k * e);
            Shared = Alloc(b * e);
        }
    }

    public int Capacity { get; }
    public float* X { get; }
    public float* H { get; }
    public float* QA { get; }
    public float* Q { get; }
    public float* KvA { get; }
    /// <summary>[head][token][Dn]</summary>
    public float* QNope { get; }
    /// <summary>[head][token][Rkv]</summary>
    public float* QAbs { get; }
    /// <summary>[token][head][Rkv + Dr]: absorbed query in latent space plus roped q_pe.</summary>
    public float* QFull { get; }
    /// <summary>[head][token][Rkv]</summary>
    public float* OLat { get; }
    /// <summary>[head][token][Dv]</summary>
    public float* OHead { get; }
    /// <summary>[token][head·Dv]</summary>
    public float* AttnOut { get; }
    public float* Proj { get; }
    public float* Gate { get; }
    public float* Up { get; }
    public float* Down { get; }
    public float* RopeCos { get; }
    public float* RopeSin { get; }
    /// <summary>Each token's position in its own sequence.</summary>
    public int* Positions { get; }
    /// <summary>Step rows whose logits are wanted, ascending.</summary>
    public int* OutputRows { get; }
    public float* Scores { get; private set; }
    public int ScoresPerWorker { get; private set; }
    /// <summary>Independent score scratch rows (attention work is split into this many chunks at most).</summary>
    public int ScoreChunks { get; }
    /// <summary>One sequence's cache rows of one layer decoded to contiguous floats, [visible][row].</summary>
    public float* KvDecoded { get; private set; }
    public long KvDecodedLength { get; private set; }

    private readonly int _rowLength;
    private readonly DeepSeek2Config _config;
    private readonly int _workers;
    private int _attentionRows;
    private Compute.FlashAttentionScratch? _flash;

    private Compute.MhaScratch? _mha;

    /// <summary>The decompressed-form chunk kernel's per-worker scratch (long prompt chunks on the default path), on first use.</summary>
    public Compute.MhaScratch Mha => _mha ??= new Compute.MhaScratch(_workers, Capacity, _config.HeadCount, _config.KvLoraRank,
        _config.RopeDim, _config.QkNopeDim, _config.ValueHeadDim);

    /// <summary>The flash kernel's per-worker tiles (the default path), allocated on first use; exact mode never asks.</summary>
    public Compute.FlashAttentionScratch Flash =>
        _flash ??= new Compute.FlashAttentionScratch(_workers, _config.HeadCount, _config.KvLoraRank, _config.RopeDim);

    /// <summary>Grows the attention scratch (scores, decoded rows) to hold <paramref name="visible"/> cache rows.</summary>
    public void EnsureAttention(int visible)
    {
        if (visible <= _attentionRows)
            return;
        int rows = Math.Max(visible, Math.Min(2 * _attentionRows, int.MaxValue / 2));
        FreeAttention();
        ScoresPerWorker = Compute.LatentAttention.ScoreLength(rows);
        Scores = (float*)NativeMemory.AlignedAlloc((nuint)((long)ScoreChunks * ScoresPerWorker * sizeof(float)), 64);
        KvDecodedLength = (long)rows * _rowLength;
        KvDecoded = (float*)NativeMemory.AlignedAlloc((nuint)(KvDecodedLength * sizeof(float)), 64);
        _attentionRows = rows;
    }

    private void FreeAttention()
    {
        if (Scores != null) NativeMemory.AlignedFree(Scores);
        if (KvDecoded != null) NativeMemory.AlignedFree(KvDecoded);
        Scores = null;
        KvDecoded = null;
        _attentionRows = 0;
    }
    public float* RouterLogits { get; }
    public float* Selection { get; }
    public float* ExpertWeights { get; }
    public int* ChosenExperts { get; }
    public int* ExpertCounts { get; }
    public int* ExpertOffsets { get; }
    /// <summary>(token·k + slot) entries grouped by expert.</summary>
    public int* ExpertPairs { get; }
    public int* TokenRows { get; }
    public ByteBuffer QuantizedGate { get; }
    public ByteBuffer QuantizedUp { get; }

    public readonly struct ByteBuffer(byte* data, long length)
    {
        public byte* Data => data;
        public long Length => length;
    }
    /// <summary>[token][slot][E]: each chosen expert's weighted output, summed in slot order like llama.cpp.</summary>
    public float* SlotOutputs { get; }
    public float* Shared { get; }

    /// <summary>Bytes held (the attention scratch at its current size included).</summary>
    public long Bytes => _fixedBytes + ((long)ScoreChunks * ScoresPerWorker + KvDecodedLength) * sizeof(float) + (_flash?.Bytes ?? 0) + (_mha?.Bytes ?? 0);

    private long _fixedBytes;

    private float* Alloc(long floats) => (float*)AllocBytes(floats * sizeof(float));

    private void* AllocBytes(long bytes)
    {
        void* p = NativeMemory.AllocZeroed((nuint)Math.Max(bytes, 1));
        _blocks.Add((nint)p);
        _fixedBytes += bytes;
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _blocks)
            NativeMemory.Free((void*)p);
        _blocks.Clear();
        FreeAttention();
        _flash?.Dispose();
        _flash = null;
        _mha?.Dispose();
        _mha = null;
    }
}
