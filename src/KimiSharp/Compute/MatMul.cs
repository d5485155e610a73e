using KimiSharp.Quants;
using KimiSharp.Quants.IQuants;
using KimiSharp.Quants.Repacked;
using KimiSharp.Quants.Tiles;

namespace KimiSharp.Compute;

/// <summary>
/// y[t, m] = Σ_k W[m, k] · x[t, k] for a quantized weight matrix W (rows × cols) and F32 activations x (tokens × cols):
/// activations are quantized once per call into the weight type's vec_dot format (as ggml-cpu does), then
/// weight rows are split into chunks handed out dynamically across the <see cref="WorkerPool"/>. With several
/// tokens each chunk runs token tiles over its rows so a weight row is read once per tile, not once per token.
/// </summary>
public static unsafe class MatMul
{
    private const int TokenTile = 8;

    /// <summary>Rows the vec_dot-order path runs through every token before moving on (16 rows of 7168 Q8_0 = 122 KB).</summary>
    private const int RowGroup = 16;

    /// <summary>Bytes needed to hold <paramref name="tokens"/> activation rows of <paramref name="cols"/> for a weight type.</summary>
    public static long ActivationBytes(GgmlType weightType, int cols, int tokens) =>
        GgmlTypes.Get(QuantCodecs.VecDotType(weightType)).RowBytes(cols) * tokens;

    /// <summary>y (tokens × w.Rows) = x (tokens × w.Cols) · Wᵀ. Uses the pool's scratch buffer for the quantized activations.</summary>
    /// <param name="path">How llama.cpp's graph computes this product, so our sums follow the same order
    /// (see <see cref="MatMulPath"/>); the default is a plain 2-D mat-mul.</param>
    public static void Multiply(in QuantMatrix w, ReadOnlySpan<float> x, int tokens, Span<float> y, WorkerPool pool,
        MatMulPath path = MatMulPath.Default)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        var actType = QuantCodecs.VecDotType(w.Type);
        long bytes = ActivationBytes(w.Type, w.Cols, tokens);
        var a = QuantizeActivations(actType, x, tokens, w.Cols, pool.Scratch(bytes), bytes, pool);
        MultiplyCore(w, a, null, a.Tokens, y, pool, path);
    }

    /// <summary>
    /// Quantizes x (tokens × cols floats) into <paramref name="activationType"/> (see <see cref="QuantCodecs.VecDotType"/>)
    /// in <paramref name="buffer"/> (at least <see cref="ActivationBytes"/> bytes; it must stay valid while the result is used).
    /// </summary>
    public static QuantizedActivations QuantizeActivations(GgmlType activationType, ReadOnlySpan<float> x, int tokens, int cols,
        byte* buffer, long bufferBytes, WorkerPool? pool = null)
    {
        var info = GgmlTypes.Get(activationType);
        long rowBytes = info.RowBytes(cols);
        if (tokens < 0 || (long)tokens * cols != x.Length)
            throw new ArgumentException($"activations: {x.Length} floats is not {tokens} tokens × {cols} columns", nameof(x));
        if (buffer == null || bufferBytes < rowBytes * tokens)
            throw new ArgumentException($"{activationType}: activation buffer of {bufferBytes} bytes is smaller than {rowBytes * tokens}", nameof(bufferBytes));
        if (rowBytes > int.MaxValue)
            throw new ArgumentException($"{activationType}: activation row of {rowBytes} bytes is too long", nameof(cols));
        fixed (float* px = x)
        {
            var job = new QuantizeJob { X = px, Cols = cols, Dst = buffer, RowBytes = rowBytes, Type = activationType };
            if (pool is { Threads: > 1 } && tokens >= 4)
                pool.Run(tokens, &QuantizeRow, &job);
            else
                for (int t = 0; t < tokens; t++) QuantizeRow(&job, t);
        }
        return new QuantizedActivations(buffer, activationType, tokens, cols, rowBytes);
    }

    /// <summary>y (a.Tokens × w.Rows) = a · Wᵀ with activations already quantized.</summary>
    public static void Multiply(in QuantMatrix w, in QuantizedActivations a, Span<float> y, WorkerPool pool,
        MatMulPath path = MatMulPath.Default) =>
        MultiplyCore(w, a, null, a.Tokens, y, pool, path);

    /// <summary>
    /// y (tokenRows.Length × w.Rows) = the selected activation rows · Wᵀ: row i of y uses activation row tokenRows[i]
    /// (for MoE: the tokens routed to one expert).
    /// </summary>
    public static void Multiply(in QuantMatrix w, in QuantizedActivations a, ReadOnlySpan<int> tokenRows, Span<float> y, WorkerPool pool,
        MatMulPath path = MatMulPath.ExpertRows)
    {
        foreach (int t in tokenRows)
            if ((uint)t >= (uint)a.Tokens)
                throw new ArgumentOutOfRangeException(nameof(tokenRows), t, $"activation row index outside [0, {a.Tokens})");
        if (tokenRows.IsEmpty)
        {
            if (!y.IsEmpty) throw new ArgumentException($"output holds {y.Length} floats, expected none for an empty selection", nameof(y));
            return;
        }
        fixed (int* idx = tokenRows)
            MultiplyCore(w, a, idx, tokenRows.Length, y, pool, path | MatMulPath.ExpertRows);
    }

    private static void MultiplyCore(in QuantMatrix w, in QuantizedActivations a, int* tokenIndex, int tokens, Span<float> y, WorkerPool pool,
        MatMulPath path)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (w.Data == null) throw new ArgumentException("weight matrix is not initialised", nameof(w));
        var actType = QuantCodecs.VecDotType(w.Type);
        if (a.Type != actType)
            throw new ArgumentException($"{w.Type} weights need {actType} activations, got {a.Type}", nameof(a));
        if (a.Cols != w.Cols)
            throw new ArgumentException($"{w.Type}: activations have {a.Cols} columns, the matrix has {w.Cols}", nameof(a));
        if ((long)tokens * w.Rows != y.Length)
            throw new ArgumentException($"output holds {y.Length} floats, expected {tokens} × {w.Rows}", nameof(y));
        if (tokens == 0 || w.Rows == 0) return;

        int threads = pool.Threads;
        // chunks: ~4 per thread for balance, at least 16 rows (as ggml's chunking); fewer rows per chunk when tokens are many
        int rowsPerTask = Math.Max(16, (w.Rows + threads * 4 - 1) / (threads * 4));
        if (threads == 1) rowsPerTask = w.Rows;
        int tasks = (w.Rows + rowsPerTask - 1) / rowsPerTask;
        fixed (float* py = y)
        {
            var job = new MatMulJob
            {
                W = w.Data, WRowBytes = w.RowBytes, Rows = w.Rows, Cols = w.Cols, Type = w.Type,
                A = a.Data, ARowBytes = a.RowBytes, TokenIndex = tokenIndex, Tokens = tokens,
                Y = py, RowsPerTask = rowsPerTask,
            };
            ChooseOrder(ref job, path, actType);
            if (job.Order == SumOrder.Repacked || job.Fast)
            {
                // the 8-row kernels need chunks aligned to 8 rows (repacked matrices have rows % 8 == 0)
                job.RowsPerTask = (job.RowsPerTask + 7) & ~7;
                tasks = (w.Rows + job.RowsPerTask - 1) / job.RowsPerTask;
            }
            pool.Run(tasks, &MultiplyChunk, &job);
        }
    }

    private struct MatMulJob
    {
        public byte* W;
        public long WRowBytes;
        public int Rows, Cols;
        public GgmlType Type;
        public byte* A;
        public long ARowBytes;
        public int* TokenIndex;
        public int Tokens;
        public float* Y;
        public int RowsPerTask;
        public SumOrder Order;
        public int GemmTokens;
        public TileKernel Tile;
        public bool Invariant, Fast;
    }

    /// <summary>Which of ggml-cpu's kernels (and so which float summation order) an output follows; Tile is our own (fast path).</summary>
    private enum SumOrder : byte { VecDot, TinyBlas, Repacked, Tile }

    /// <summary>
    /// Picks the order llama.cpp would sum this product in: its repacked kernels where it repacks the weight
    /// (<see cref="LlamaRepack"/>; the first tokens in whole groups of 4 by gemm, the rest and MoE rows by gemv),
    /// else tinyBLAS for batches where that differs from vec_dot (<see cref="UsesTinyBlasOrder"/>), else vec_dot.
    /// Batch-invariant: every token as if it ran alone.
    /// </summary>
    private static void ChooseOrder(ref MatMulJob job, MatMulPath path, GgmlType activationType)
    {
        bool invariant = (path & MatMulPath.BatchInvariant) != 0;
        if ((path & MatMulPath.Fast) != 0)
        {
            // tile kernels wherever a batch can share the weight decode (and for single tokens too when batch-invariant, so a
            // token sums the same alone or in a batch); else the codec's vec_dot, batch-invariant by its contract
            job.Invariant = invariant;
            job.Fast = true;
            job.Order = (job.Tokens > 1 || invariant) && TileKernels.TryGet(job.Type, out job.Tile) ? SumOrder.Tile : SumOrder.VecDot;
            return;
        }
        bool experts = (path & MatMulPath.ExpertRows) != 0 || job.TokenIndex != null;
        if ((path & (MatMulPath.NoRepack | MatMulPath.PerHeadWeight)) == 0 && LlamaRepack.Applies(job.Type, job.Rows, job.Cols))
        {
            job.Order = SumOrder.Repacked;
            job.GemmTokens = experts || invariant ? 0 : job.Tokens - job.Tokens % 4;
            return;
        }
        // A permuted activation view keeps ggml off tinyBLAS unless it first converts the activations (non-F32 vec_dot types).
        bool permuted = (path & MatMulPath.PermutedActivations) != 0 && activationType == GgmlType.F32;
        job.Order = UsesTinyBlasOrder(job.Type, job.Rows, job.Cols, job.Tokens, experts || invariant || permuted)
            ? SumOrder.TinyBlas : SumOrder.VecDot;
    }

    /// <summary>
    /// Whether llama.cpp (ggml-cpu with llamafile's sgemm) would compute this product with tinyBLAS rather than vec_dot,
    /// in an order that differs from the type's vec_dot: a plain (not MoE-indexed) mat-mul of two or more tokens with
    /// F32/F16/BF16 weights (columns a multiple of the build's register width, 16 or 8 lanes, rows a multiple of 4; one
    /// accumulator register) or IQ4_NL weights (one 8-lane accumulator where its vec_dot keeps two). Q4_0/Q5_0/Q8_0 also take tinyBLAS there, in their vec_dot's order.
    /// </summary>
    internal static bool UsesTinyBlasOrder(GgmlType type, int rows, int cols, int tokens, bool indexed) =>
        !indexed && tokens >= 2 && Simd.Best >= SimdLevel.Avx2 && type switch
        {
            GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => cols % GgmlFloatOrder.TinyBlasLanes == 0 && rows % 4 == 0,
            GgmlType.IQ4_NL => true,
            _ => false,
        };

    /// <summary>The tinyBLAS-order dot of one weight row and one activation row (see <see cref="UsesTinyBlasOrder"/>).</summary>
    private static float TinyBlasDot(GgmlType type, byte* w, byte* a, int cols) => type switch
    {
        GgmlType.F32 => GgmlFloatOrder.DotOneAccumulator((float*)w, (float*)a, cols),
        GgmlType.F16 => TinyBlasHalfDot.F16((ushort*)w, (ushort*)a, cols),
        GgmlType.BF16 => TinyBlasHalfDot.BF16((ushort*)w, (ushort*)a, cols),
        _ => Iq4NlCodec.DotOneAccumulator(w, a, cols),
    };

    /// <summary>The quantized activation row of output token t (its own row, or the one the token index names).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static byte* Activation(MatMulJob* job, int t) => job->A + (job->TokenIndex == null ? t : job->TokenIndex[t]) * job->ARowBytes;

    private static void MultiplyChunk(void* state, int task)
    {
        var job = (MatMulJob*)state;
        var codec = QuantCodecs.GetCodec(job->Type);
        int r0 = task * job->RowsPerTask, r1 = Math.Min(job->Rows, r0 + job->RowsPerTask);
        int rows = job->Rows, cols = job->Cols, tokens = job->Tokens;
        if (job->Order == SumOrder.Repacked && job->Type is GgmlType.Q4_K or GgmlType.Q2_K)
        {
            // gemv tokens: 8 rows per pass over the activation rows, as ggml's gemv, two tokens sharing each weight block's
            // decode; the 8 rows stay in L1 while every gemv token passes over them. Gemm tokens go on below.
            for (int r = r0; r < r1; r += 8)
            {
                byte* w8 = job->W + r * job->WRowBytes;
                int t = job->GemmTokens;
                for (; t + 1 < tokens; t += 2)
                {
                    byte* a0 = Activation(job, t), a1 = Activation(job, t + 1);
                    float* y0 = job->Y + (long)t * rows + r, y1 = job->Y + (long)(t + 1) * rows + r;
                    if (job->Type == GgmlType.Q4_K)
                        Q4KRepackedOrder.Gemv8RowsTwoTokens(w8, job->WRowBytes, a0, a1, cols, y0, y1);
                    else
                        Q2KRepackedOrder.Gemv8RowsTwoTokens(w8, job->WRowBytes, a0, a1, cols, y0, y1);
                }
                if (t < tokens)
                {
                    byte* a = Activation(job, t);
                    float* y8 = job->Y + (long)t * rows + r;
                    if (job->Type == GgmlType.Q4_K)
                        Q4KRepackedOrder.Gemv8Rows(w8, job->WRowBytes, a, cols, y8);
                    else
                        Q2KRepackedOrder.Gemv8Rows(w8, job->WRowBytes, a, cols, y8);
                }
            }
            tokens = job->GemmTokens;
        }
        if (job->Order == SumOrder.Tile)
        {
            TileChunk(job, codec, r0, r1);
            return;
        }
        if (job->Order == SumOrder.VecDot && job->Fast && tokens == 1)
        {
            MatVec(job->Type, codec, job->W + r0 * job->WRowBytes, job->WRowBytes, r1 - r0, Activation(job, 0), cols, job->Y + r0);
            return;
        }
        if (job->Order == SumOrder.VecDot)
        {
            // vec_dot order: the codec's mat-vec kernel (several rows per pass where the type has one), a row group at a
            // time so the group stays in cache across a token tile
            for (int t0 = 0; t0 < tokens; t0 += TokenTile)
            {
                int t1 = Math.Min(tokens, t0 + TokenTile);
                for (int g = r0; g < r1; g += RowGroup)
                {
                    int count = Math.Min(RowGroup, r1 - g);
                    int t = t0;
                    for (; t + 1 < t1; t += 2) // token pairs: types whose decode dominates share it between the two
                        codec.VecDotRowsTwoTokens(job->W + g * job->WRowBytes, job->WRowBytes, Activation(job, t), Activation(job, t + 1),
                            cols, job->Y + (long)t * rows + g, job->Y + (long)(t + 1) * rows + g, count);
                    for (; t < t1; t++)
                        codec.VecDotRows(job->W + g * job->WRowBytes, job->WRowBytes, Activation(job, t), cols, job->Y + (long)t * rows + g, count);
                }
            }
            return;
        }
        for (int t0 = 0; t0 < tokens; t0 += TokenTile)
        {
            int t1 = Math.Min(tokens, t0 + TokenTile);
            for (int r = r0; r < r1; r++)
            {
                byte* wRow = job->W + r * job->WRowBytes;
                int t = t0;
                if (job->Order == SumOrder.Repacked && LlamaRepack.HasDot2(job->Type))
                    for (; t + 1 < t1; t += 2) // gemm tokens only (the 8-row block above took the gemv ones): two share the decode
                        LlamaRepack.Dot2(job->Type, wRow, Activation(job, t), Activation(job, t + 1), cols, gemm: true,
                            out job->Y[(long)t * rows + r], out job->Y[(long)(t + 1) * rows + r]);
                for (; t < t1; t++)
                {
                    byte* aRow = Activation(job, t);
                    job->Y[(long)t * rows + r] = job->Order switch
                    {
                        SumOrder.Repacked => LlamaRepack.Dot(job->Type, wRow, aRow, cols, gemm: t < job->GemmTokens),
                        _ => TinyBlasDot(job->Type, wRow, aRow, cols),
                    };
                }
            }
        }
    }

    /// <summary>Tokens whose activation rows a tile pass keeps hot (64 × 7168 columns of Q8_K = 510 KB, about L2).</summary>
    private const int TileTokenBlock = 64;

    /// <summary>
    /// Rows [r0, r1) by tile kernels: per block of up to 64 tokens (their activations stay in L2), every row meets its
    /// tokens through <see cref="RowDots"/>.
    /// </summary>
    private static void TileChunk(MatMulJob* job, IQuantCodec codec, int r0, int r1)
    {
        int rows = job->Rows, cols = job->Cols, tokens = job->Tokens;
        byte** act = stackalloc byte*[TileTokenBlock];
        for (int t0 = 0; t0 < tokens; t0 += TileTokenBlock)
        {
            int count = Math.Min(TileTokenBlock, tokens - t0);
            for (int j = 0; j < count; j++) act[j] = Activation(job, t0 + j);
            for (int r = r0; r < r1; r++)
                RowDots(job->Tile, codec, job->W + r * job->WRowBytes, act, count, cols, job->Y + (long)t0 * rows + r, rows, job->Invariant);
        }
    }

    /// <summary>
    /// One token against rows [0, rows) (the fast path's mat-vec): y[r] = W[r]·a. Q4_K runs 4 rows per pass on AVX2 hosts
    /// (<see cref="Q4KRows"/>); with AVX-512, Q4_K and Q2_K run 8 rows per pass (8 weight
    /// streams at once, which keeps more of the memory bus busy than one row after another); other types the codec's
    /// VecDotRows (several rows per pass where the codec has such a kernel).
    /// </summary>
    internal static void MatVec(GgmlType type, IQuantCodec codec, byte* w, long rowBytes, int rows, byte* a, int cols, float* y)
    {
        int r = 0;
        if (type == GgmlType.Q4_K && !System.Runtime.Intrinsics.X86.Avx512BW.IsSupported && TileKernels.Available)
        {
            // AVX2: four rows per pass sharing the token's loads; the last rows one at a time through the tile kernel (same sums)
            for (; r + 4 <= rows; r += 4)
                Q4KRows.Run4(w + r * rowBytes, rowBytes, a, cols, y + r);
            for (; r < rows; r++)
            {
                byte* act = a;
                Q4KTile.Run(w + r * rowBytes, &act, 1, cols, y + r);
            }
            return;
        }
        if (type is GgmlType.Q4_K or GgmlType.Q2_K && Simd.Best >= SimdLevel.Avx2)
            for (; r + 8 <= rows; r += 8)
                if (type == GgmlType.Q4_K)
                    Q4KRepackedOrder.Gemv8Rows(w + r * rowBytes, rowBytes, a, cols, y + r);
                else
                    Q2KRepackedOrder.Gemv8Rows(w + r * rowBytes, rowBytes, a, cols, y + r);
        if (r < rows)
            codec.VecDotRows(w + r * rowBytes, rowBytes, a, cols, y + r, rows - r);
    }

    /// <summary>The tile kernel for <paramref name="type"/> (Run is null where there is none).</summary>
    internal static bool TryTile(GgmlType type, out TileKernel tile) => TileKernels.TryGet(type, out tile);

    /// <summary>
    /// y[j·stride] = W[row] · act[j] for j &lt; count: in tiles of up to 8 tokens split evenly (9 run as 5 + 4), each weight
    /// block decoded once per tile. Where there is no tile kernel, or for a lone token outside batch-invariant mode (vec_dot
    /// is faster for one), the codec's vec_dot, two tokens per call (bit-identical to one by its contract).
    /// </summary>
    internal static void RowDots(in TileKernel tile, IQuantCodec codec, byte* wRow, byte** act, int count, int cols, float* y, long stride,
        bool invariant)
    {
        float* res = stackalloc float[TileKernels.MaxTokens];
        int tiles = (count + TileKernels.MaxTokens - 1) / TileKernels.MaxTokens;
        for (int i = 0, j0 = 0; i < tiles; i++)
        {
            int n = (count - j0) / (tiles - i);
            if (tile.Run != null && (n > 1 || invariant))
            {
                tile.Run(wRow, act + j0, n, cols, res);
                for (int j = 0; j < n; j++) y[(j0 + j) * stride] = res[j];
            }
            else
            {
                int j = 0;
                for (; j + 1 < n; j += 2)
                {
                    codec.VecDotRowsTwoTokens(wRow, 0, act[j0 + j], act[j0 + j + 1], cols, res, res + 1, 1);
                    y[(j0 + j) * stride] = res[0];
                    y[(j0 + j + 1) * stride] = res[1];
                }
                if (j < n)
                    y[(j0 + j) * stride] = codec.VecDot(wRow, act[j0 + j], cols);
            }
            j0 += n;
        }
    }

    private struct QuantizeJob
    {
        public float* X;
        public int Cols;
        public byte* Dst;
        public long RowBytes;
        public GgmlType Type;
    }

    private static void QuantizeRow(void* state, int t)
    {
        var job = (QuantizeJob*)state;
        ActivationQuantizer.Quantize(job->Type, new ReadOnlySpan<float>(job->X + (long)t * job->Cols, job->Cols),
            new Span<byte>(job->Dst + t * job->RowBytes, (int)job->RowBytes));
    }
}
