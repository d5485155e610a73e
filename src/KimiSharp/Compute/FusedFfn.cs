using System.Runtime.InteropServices;
using KimiSharp.Quants;

namespace KimiSharp.Compute;

/// <summary>
/// Several SwiGLU FFNs ("experts") over their own tokens of one step, summed with per-token weights, in two passes over
/// the <see cref="WorkerPool"/> (the fast path; not llama.cpp's order):
/// <code>
/// y[t] = Σ_experts e∋t  w_e,t · Down_e(silu(Gate_e x_t) ⊙ Up_e x_t)
/// </code>
/// x is quantized once per vec_dot type. Pass 1 runs over (expert, chunk of FFN rows): each weight row of gate and up
/// meets all the expert's tokens in tiles (<see cref="MatMul.RowDots"/>), then the chunk's SwiGLU is taken and quantized
/// for the down product right there (a chunk is a whole number of activation blocks). Pass 2 runs over chunks of output
/// rows: every expert's down rows meet its tokens and are added, weighted, straight into y, so each task owns its rows.
/// A MoE layer is its routed experts plus the shared one (weight 1, every token); a dense FFN is one expert. Every token's
/// sums run in the same order whatever the batch (experts in the order added), so batch-invariant mode holds here too.
/// Buffers are native, grow to the largest step seen and are reused; nothing is allocated per call after that.
/// </summary>
public sealed unsafe class FusedFfn : IDisposable
{
    private readonly WorkerPool _pool;
    private Expert[] _experts = new Expert[16];
    private int _expertCount;
    private int* _slotTokens;          // per slot: the token (row of x) it reads
    private float* _slotWeights;       // per slot: the weight of its down output
    private int _slotCapacity, _slotCount;
    private float* _gate, _up;        // per slot: its expert's FFN row of gate·x, up·x (then SwiGLU in _gate)
    private long _gateCapacity, _upCapacity, _floatCount;
    private byte* _downActs;           // per slot: the SwiGLU row quantized for the down product
    private long _downCapacity, _downCount;
    private byte* _inputActs;          // x quantized, once per vec_dot type
    private long _inputCapacity;

    public FusedFfn(WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        _pool = pool;
    }

    private struct Expert
    {
        public QuantMatrix Gate, Up, Down;
        public int FirstSlot, Slots;
        public long FirstFloat;        // offset of slot FirstSlot's row in _gate/_up (rows of Gate.Rows floats)
        public long FirstDown;         // byte offset of its down activation row in _downActs
        public long DownRowBytes;
        public int Chunk;              // FFN rows per pass-1 item (whole activation blocks of the down product)
        public int FirstItem;          // its first pass-1 item
        public int InputSlot, UpInputSlot;   // which quantized copy of x its gate and its up read
    }

    /// <summary>Starts a step: no experts yet.</summary>
    public void Clear()
    {
        _expertCount = 0;
        _slotCount = 0;
        _floatCount = 0;
        _downCount = 0;
    }

    /// <summary>
    /// Adds an expert (gate and up: ff × cols, down: rows × ff) run on the tokens <paramref name="tokens"/> (rows of x) with
    /// the weights <paramref name="weights"/> on its output (null: 1 for every token).
    /// </summary>
    public void Add(in QuantMatrix gate, in QuantMatrix up, in QuantMatrix down, ReadOnlySpan<int> tokens, ReadOnlySpan<float> weights)
    {
        if (gate.Rows != up.Rows || gate.Cols != up.Cols || down.Cols != gate.Rows)
            throw new ArgumentException($"expert shapes do not chain: gate {gate.Rows}×{gate.Cols}, up {up.Rows}×{up.Cols}, down {down.Rows}×{down.Cols}");
        if (!weights.IsEmpty && weights.Length != tokens.Length)
            throw new ArgumentException($"{weights.Length} weights for {tokens.Length} tokens", nameof(weights));
        if (_expertCount > 0 && (down.Rows != _experts[0].Down.Rows || gate.Cols != _experts[0].Gate.Cols))
            throw new ArgumentException($"expert {_expertCount} maps {gate.Cols} → {down.Rows}, the first maps {_experts[0].Gate.Cols} → {_experts[0].Down.Rows}");
        if (tokens.IsEmpty) return;
        if (_expertCount == _experts.Length) Array.Resize(ref _experts, _experts.Length * 2);
        int ff = gate.Rows;
        var downAct = GgmlTypes.Get(QuantCodecs.VecDotType(down.Type));
        long downRow = downAct.RowBytes(ff);
        EnsureSlots(_slotCount + tokens.Length);
        Ensure(ref _gate, ref _gateCapacity, 4 * (_floatCount + (long)tokens.Length * ff));
        Ensure(ref _up, ref _upCapacity, 4 * (_floatCount + (long)tokens.Length * ff));
        Ensure(ref _downActs, ref _downCapacity, _downCount + downRow * tokens.Length);
        // pass-1 chunks: 256 rows (or the down activation's block, if larger), else the whole FFN when it does not divide
        int block = downAct.BlockSize, chunk = Math.Max(block, 256 / block * block);
        if (ff % chunk != 0) chunk = ff;
        _experts[_expertCount++] = new Expert
        {
            Gate = gate, Up = up, Down = down, FirstSlot = _slotCount, Slots = tokens.Length, FirstFloat = _floatCount,
            FirstDown = _downCount, DownRowBytes = downRow, Chunk = chunk,
        };
        for (int i = 0; i < tokens.Length; i++)
        {
            _slotTokens[_slotCount + i] = tokens[i];
            _slotWeights[_slotCount + i] = weights.IsEmpty ? 1f : weights[i];
        }
        _slotCount += tokens.Length;
        _floatCount += (long)tokens.Length * ff;
        _downCount += downRow * tokens.Length;
    }

    /// <summary>
    /// y (tokens × rows of down) = the weighted sum of the experts added since <see cref="Clear"/> on x (tokens × cols);
    /// tokens no expert took get 0.
    /// </summary>
    public void Run(ReadOnlySpan<float> x, int tokens, Span<float> y, bool batchInvariant)
    {
        if (_expertCount == 0)
        {
            y.Clear();
            return;
        }
        int cols = _experts[0].Gate.Cols, rows = _experts[0].Down.Rows;
        if ((long)tokens * cols != x.Length)
            throw new ArgumentException($"x holds {x.Length} floats, not {tokens} × {cols}", nameof(x));
        if ((long)tokens * rows != y.Length)
            throw new ArgumentException($"y holds {y.Length} floats, not {tokens} × {rows}", nameof(y));
        for (int i = 0; i < _slotCount; i++)
            if ((uint)_slotTokens[i] >= (uint)tokens)
                throw new ArgumentOutOfRangeException(nameof(tokens), _slotTokens[i], $"an expert's token is outside [0, {tokens})");

        // x quantized once per vec_dot type the gates and ups need (at most a few distinct ones)
        var types = new GgmlType[4];
        int typeCount = 0;
        long perType = 0;
        for (int j = 0; j < _expertCount; j++)
        {
            ref var ex = ref _experts[j];
            ex.InputSlot = TypeSlot(types, ref typeCount, QuantCodecs.VecDotType(ex.Gate.Type));
            ex.UpInputSlot = TypeSlot(types, ref typeCount, QuantCodecs.VecDotType(ex.Up.Type));
        }
        for (int i = 0; i < typeCount; i++)
            perType = Math.Max(perType, GgmlTypes.Get(types[i]).RowBytes(cols) * tokens);
        perType = (perType + 63) & ~63L;
        Ensure(ref _inputActs, ref _inputCapacity, perType * typeCount);
        var inputs = stackalloc QuantizedActivations[4];
        for (int i = 0; i < typeCount; i++)
            inputs[i] = MatMul.QuantizeActivations(types[i], x, tokens, cols, _inputActs + i * perType, perType, _pool);

        int items = 0;
        for (int j = 0; j < _expertCount; j++)
        {
            _experts[j].FirstItem = items;
            items += _experts[j].Gate.Rows / _experts[j].Chunk;
        }
        fixed (Expert* experts = _experts)
        fixed (float* py = y)
        {
            var job = new Job
            {
                Experts = experts, ExpertCount = _expertCount, Inputs = inputs, SlotTokens = _slotTokens, SlotWeights = _slotWeights,
                Gate = _gate, Up = _up, DownActs = _downActs, Y = py, Rows = rows, Tokens = tokens, Invariant = batchInvariant,
            };
            _pool.Run(items, &GateUpItem, &job);
            int threads = _pool.Threads;
            job.RowsPerTask = Math.Min(MaxRowsPerTask, threads == 1 ? rows : Math.Max(16, (rows + threads * 4 - 1) / (threads * 4)));
            job.RowsPerTask = (job.RowsPerTask + 7) & ~7; // whole 8-row groups for the 8-row mat-vec kernels
            _pool.Run((rows + job.RowsPerTask - 1) / job.RowsPerTask, &DownItem, &job);
        }
    }

    private static int TypeSlot(GgmlType[] types, ref int count, GgmlType t)
    {
        for (int i = 0; i < count; i++)
            if (types[i] == t) return i;
        types[count] = t;
        return count++;
    }

    /// <summary>Most output rows one pass-2 task takes (its one-token results sit on the stack).</summary>
    private const int MaxRowsPerTask = 1024;

    private struct Job
    {
        public Expert* Experts;
        public int ExpertCount;
        public QuantizedActivations* Inputs;
        public int* SlotTokens;
        public float* SlotWeights;
        public float* Gate, Up;
        public byte* DownActs;
        public float* Y;
        public int Rows, Tokens, RowsPerTask;
        public bool Invariant;
    }

    /// <summary>Pass 1, one (expert, chunk of FFN rows): gate and up rows against the expert's tokens, SwiGLU, quantize.</summary>
    private static void GateUpItem(void* state, int item)
    {
        var job = (Job*)state;
        int j = 0;
        while (j + 1 < job->ExpertCount && job->Experts[j + 1].FirstItem <= item) j++;
        ref var ex = ref job->Experts[j];
        int ff = ex.Gate.Rows, f0 = (item - ex.FirstItem) * ex.Chunk, f1 = f0 + ex.Chunk, slots = ex.Slots;
        var gateIn = job->Inputs[ex.InputSlot];
        var upIn = job->Inputs[ex.UpInputSlot];
        const int TileSlots = 64;
        byte** gateActs = stackalloc byte*[TileSlots];
        byte** upActs = stackalloc byte*[TileSlots];
        var gateCodec = QuantCodecs.GetCodec(ex.Gate.Type);
        var upCodec = QuantCodecs.GetCodec(ex.Up.Type);
        MatMul.TryTile(ex.Gate.Type, out var gateTile);
        MatMul.TryTile(ex.Up.Type, out var upTile);
        float* g = job->Gate + ex.FirstFloat, u = job->Up + ex.FirstFloat;   // slot s's row at s·ff
        if (slots == 1 && !job->Invariant)
        {
            int t = job->SlotTokens[ex.FirstSlot];
            MatMul.MatVec(ex.Gate.Type, gateCodec, ex.Gate.Data + f0 * ex.Gate.RowBytes, ex.Gate.RowBytes, f1 - f0,
                gateIn.Data + t * gateIn.RowBytes, ex.Gate.Cols, g + f0);
            MatMul.MatVec(ex.Up.Type, upCodec, ex.Up.Data + f0 * ex.Up.RowBytes, ex.Up.RowBytes, f1 - f0,
                upIn.Data + t * upIn.RowBytes, ex.Up.Cols, u + f0);
            slots = 0; // done: straight on to SwiGLU and quantization below
        }
        for (int s0 = 0; s0 < slots; s0 += TileSlots)
        {
            int n = Math.Min(TileSlots, slots - s0);
            for (int i = 0; i < n; i++)
            {
                int t = job->SlotTokens[ex.FirstSlot + s0 + i];
                gateActs[i] = gateIn.Data + t * gateIn.RowBytes;
                upActs[i] = upIn.Data + t * upIn.RowBytes;
            }
            for (int f = f0; f < f1; f++)
            {
                MatMul.RowDots(gateTile, gateCodec, ex.Gate.Data + f * ex.Gate.RowBytes, gateActs, n, ex.Gate.Cols,
                    g + (long)s0 * ff + f, ff, job->Invariant);
                MatMul.RowDots(upTile, upCodec, ex.Up.Data + f * ex.Up.RowBytes, upActs, n, ex.Up.Cols,
                    u + (long)s0 * ff + f, ff, job->Invariant);
            }
        }
        var downType = QuantCodecs.VecDotType(ex.Down.Type);
        var downInfo = GgmlTypes.Get(downType);
        long chunkBytes = downInfo.RowBytes(f1 - f0), offset = downInfo.RowBytes(f0);
        for (int s = 0; s < ex.Slots; s++)
        {
            var gs = new Span<float>(g + (long)s * ff + f0, f1 - f0);
            SwiGlu.Apply(gs, new ReadOnlySpan<float>(u + (long)s * ff + f0, f1 - f0));
            ActivationQuantizer.Quantize(downType, gs,
                new Span<byte>(job->DownActs + ex.FirstDown + s * ex.DownRowBytes + offset, (int)chunkBytes));
        }
    }

    /// <summary>Pass 2, one chunk of output rows: y[t, rows] = Σ_experts w·Down_e[rows]·act, in the order experts were added.</summary>
    private static void DownItem(void* state, int task)
    {
        var job = (Job*)state;
        int r0 = task * job->RowsPerTask, r1 = Math.Min(job->Rows, r0 + job->RowsPerTask), rows = job->Rows;
        for (int t = 0; t < job->Tokens; t++)
            new Span<float>(job->Y + (long)t * rows + r0, r1 - r0).Clear();
        const int TileSlots = 64;
        byte** acts = stackalloc byte*[TileSlots];
        float* res = stackalloc float[Math.Max(TileSlots, MaxRowsPerTask)];
        for (int j = 0; j < job->ExpertCount; j++)
        {
            ref var ex = ref job->Experts[j];
            var codec = QuantCodecs.GetCodec(ex.Down.Type);
            MatMul.TryTile(ex.Down.Type, out var tile);
            if (ex.Slots == 1 && !job->Invariant)
            {
                // one token: the rows as a mat-vec, then added with the expert's weight
                MatMul.MatVec(ex.Down.Type, codec, ex.Down.Data + r0 * ex.Down.RowBytes, ex.Down.RowBytes, r1 - r0,
                    job->DownActs + ex.FirstDown, ex.Down.Cols, res);
                float weight = job->SlotWeights[ex.FirstSlot];
                float* yt = job->Y + (long)job->SlotTokens[ex.FirstSlot] * rows + r0;
                for (int r = 0; r < r1 - r0; r++)
                    yt[r] += weight * res[r];
                continue;
            }
            for (int s0 = 0; s0 < ex.Slots; s0 += TileSlots)
            {
                int n = Math.Min(TileSlots, ex.Slots - s0);
                for (int i = 0; i < n; i++)
                    acts[i] = job->DownActs + ex.FirstDown + (long)(s0 + i) * ex.DownRowBytes;
                int* tokens = job->SlotTokens + ex.FirstSlot + s0;
                float* weights = job->SlotWeights + ex.FirstSlot + s0;
                for (int r = r0; r < r1; r++)
                {
                    MatMul.RowDots(tile, codec, ex.Down.Data + r * ex.Down.RowBytes, acts, n, ex.Down.Cols, res, 1, job->Invariant);
                    for (int i = 0; i < n; i++)
                        job->Y[(long)tokens[i] * rows + r] += weights[i] * res[i];
                }
            }
        }
    }

    private void EnsureSlots(int slots)
    {
        if (slots <= _slotCapacity) return;
        int capacity = Math.Max(slots, _slotCapacity * 2);
        var tokens = (int*)NativeMemory.Alloc((nuint)capacity, sizeof(int));
        var weights = (float*)NativeMemory.Alloc((nuint)capacity, sizeof(float));
        if (_slotCount > 0)
        {
            Buffer.MemoryCopy(_slotTokens, tokens, 4L * capacity, 4L * _slotCount);
            Buffer.MemoryCopy(_slotWeights, weights, 4L * capacity, 4L * _slotCount);
        }
        NativeMemory.Free(_slotTokens);
        NativeMemory.Free(_slotWeights);
        _slotTokens = tokens;
        _slotWeights = weights;
        _slotCapacity = capacity;
    }

    /// <summary>Grows a 64-byte-aligned native buffer to at least <paramref name="bytes"/> (contents not kept: Run refills them).</summary>
    private static void Ensure<T>(ref T* buffer, ref long capacity, long bytes) where T : unmanaged
    {
        if (bytes <= capacity) return;
        long size = Math.Max(bytes, capacity * 3 / 2);
        NativeMemory.AlignedFree(buffer);
        buffer = (T*)NativeMemory.AlignedAlloc((nuint)size, 64);
        capacity = size;
    }

    public void Dispose()
    {
        NativeMemory.Free(_slotTokens);
        NativeMemory.Free(_slotWeights);
        NativeMemory.AlignedFree(_gate);
        NativeMemory.AlignedFree(_up);
        NativeMemory.AlignedFree(_downActs);
        NativeMemory.AlignedFree(_inputActs);
        _slotTokens = null;
        _slotWeights = null;
        _gate = _up = null;
        _downActs = _inputActs = null;
        _slotCapacity = 0;
        _gateCapacity = _upCapacity = _downCapacity = _inputCapacity = 0;
    }
}
