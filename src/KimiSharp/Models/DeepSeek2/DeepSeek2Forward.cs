using KimiSharp.Compute;
using KimiSharp.Engine;
using KimiSharp.Quants;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>Receives an intermediate tensor of the forward pass (see <see cref="DeepSeek2Forward.Observer"/>).</summary>
internal delegate void ForwardObserver(string name, ReadOnlySpan<float> values);

/// <summary>
/// The deepseek2 forward pass for a step of T tokens from one or more sequences, as llama.cpp's graph computes it for
/// one (shapes beside each step; E embedding, H heads, Dn/Dr nope/rope head parts, R kv_lora_rank, Dv value head).
/// </summary>
internal sealed unsafe class DeepSeek2Forward(DeepSeek2Config c, DeepSeek2Weights w, WorkerPool pool, bool batchInvariant = false,
    bool matchRepacking = true, bool exact = false, KvCacheType kvType = KvCacheType.F32) : IDisposable
{
    /// <summary>The fast path's FFN step: experts (or the dense FFN) in two pool passes (see <see cref="FusedFfn"/>).</summary>
    private readonly FusedFfn _ffn = new(pool);
    private int[] _ffnTokens = [];
    private float[] _ffnWeights = [];

    public void Dispose() => _ffn.Dispose();

    private readonly long _rowBytes = LatentRowFormat.RowBytes(kvType, c.LatentRowLength);

    /// <summary>
    /// llama.cpp's exact order everywhere (ModelOptions.Exact). When false, fast paths that differ from llama.cpp only by
    /// rounding may run instead (held to the bounds of llama.cpp's own defaults against its exact mode).
    /// </summary>
    internal bool Exact { get; } = exact;

    private readonly YarnRope _rope = new(c.RopeDim, c.RopeFreqBase, c.RopeFreqScale, c.YarnOriginalContext,
        c.YarnExtFactor, c.RopeAttnFactor, c.YarnBetaFast, c.YarnBetaSlow);
    private readonly ExpertRouter _router = new(c);

    /// <summary>
    /// Sees intermediate tensors by llama.cpp's graph names ("attn_norm-3", "ffn_moe_logits-1", "result_output"…)
    /// in llama.cpp's layouts, for conformance diagnostics. Null (the default) costs nothing.
    /// </summary>
    internal ForwardObserver? Observer { get; set; }

    /// <summary>y = x · Wᵀ over t tokens, in llama.cpp's order for that batch size unless batch-invariant.</summary>
    private void Mul(in QuantMatrix matrix, ReadOnlySpan<float> x, int t, Span<float> y, MatMulPath path = MatMulPath.Default) =>
        MatMul.Multiply(matrix, x, t, y, pool, path | _paths);

    /// <summary>Model-wide order choices added to every product (batch invariance, llama.cpp without repacking, or the fast
    /// kernels when not exact).</summary>
    private readonly MatMulPath _paths = (batchInvariant ? MatMulPath.BatchInvariant : 0) | (matchRepacking ? 0 : MatMulPath.NoRepack)
        | (exact ? 0 : MatMulPath.Fast);

    private void Observe(string name, int layer, ReadOnlySpan<float> values) =>
        Observer?.Invoke(layer < 0 ? name : $"{name}-{layer}", values);

    /// <summary>
    /// One step over several sequences: <paramref name="tokens"/> holds each segment's tokens in segment order, token i of
    /// a segment at position Start+i of its own sequence. Every projection, norm and the MoE run over all the step's
    /// tokens at once (an expert's weights are read once per step); only the core attention runs per segment, against
    /// that segment's own paged cache. Logits rows are written in segment order (see <see cref="SegmentOutputs"/>).
    /// With one segment this is exactly the single-sequence forward pass.
    /// </summary>
    public void Run(ReadOnlySpan<int> tokens, ReadOnlySpan<BatchSegment> segments, ForwardBuffers b, Span<float> logits,
        CancellationToken cancellationToken = default)
    {
        int t = tokens.Length, e = c.EmbeddingLength;
        var x = new Span<float>(b.X, t * e);                                    // [T, E] residual stream
        int outputs = Positions(segments, b);                                   // tokens whose logits are wanted
        if (logits.Length != outputs * c.VocabSize)
            throw new ArgumentException($"logits must hold {outputs} rows × vocab = {outputs * c.VocabSize} values, got {logits.Length}", nameof(logits));

        Embed(tokens, x);
        RopeTables(t, b);
        for (int il = 0; il < c.LayerCount; il++)
        {
            cancellationToken.ThrowIfCancellationRequested();   // a stop lands within a layer, even mid-chunk
            var layer = w.Layers[il];
            var h = new Span<float>(b.H, t * e);
            RmsNorm.Apply(x, Vec(layer.AttnNorm, e), c.RmsEps, h);             // [T, E]
            if (Observer != null) Observe("attn_norm", il, h);
            Attention(layer, h, t, segments, b);                                // b.Proj = [T, E]

            // After the last layer's attention only the output tokens matter (llama.cpp's inp_out_ids): their rows move to
            // the front and the FFN runs on them alone, which also sets the batch size its products are summed for.
            int n = t;
            if (il == c.LayerCount - 1)
            {
                n = outputs;
                for (int j = 0; j < n; j++)
                {
                    int src = b.OutputRows[j];
                    var row = x.Slice(j * e, e);
                    if (src != j) x.Slice(src * e, e).CopyTo(row);
                    Add(row, new Span<float>(b.Proj + (long)src * e, e));       // x += attn
                }
            }
            else
            {
                Add(x, new Span<float>(b.Proj, t * e));                         // x += attn
            }
            var xs = x[..(n * e)];
            if (Observer != null) Observe("ffn_inp", il, xs);
            if (n == 0)
                continue;

            var hs = h[..(n * e)];
            RmsNorm.Apply(xs, Vec(layer.FfnNorm, e), c.RmsEps, hs);            // [n, E]
            if (Observer != null) Observe("ffn_norm", il, hs);
            if (layer.IsDense)
                DenseFfn(layer, hs, n, b);                                      // b.Down = [n, E]
            else
                Moe(layer, hs, n, b);                                           // b.Down = [n, E]
            if (Observer != null) Observe("ffn_out", il, new Span<float>(b.Down, n * e));
            Add(xs, new Span<float>(b.Down, n * e));                            // x += ffn
            if (Observer != null) Observe("l_out", il, xs);
        }
        foreach (var s in segments)
            s.Kv.Advance(s.Start + s.TokenCount);

        // Final norm and LM head for the output tokens (none when no segment wants logits).
        if (outputs == 0)
            return;
        var outIn = new Span<float>(b.H, outputs * e);
        RmsNorm.Apply(x[..(outputs * e)], Vec(w.OutputNorm, e), c.RmsEps, outIn);
        if (Observer != null) Observe("result_norm", -1, outIn);
        Mul(w.Output, outIn, outputs, logits);                                  // [outputs, vocab]
        if (Observer != null) Observe("result_output", -1, logits);
    }

    /// <summary>Each token's position in its sequence (b.Positions) and the step rows whose logits are wanted
    /// (b.OutputRows, ascending); returns how many those are.</summary>
    private static int Positions(ReadOnlySpan<BatchSegment> segments, ForwardBuffers b)
    {
        int i = 0, outputs = 0;
        foreach (var s in segments)
        {
            for (int k = 0; k < s.TokenCount; k++)
            {
                b.Positions[i + k] = s.Start + k;
                if (s.Outputs == SegmentOutputs.All || (s.Outputs == SegmentOutputs.Last && k == s.TokenCount - 1))
                    b.OutputRows[outputs++] = i + k;
            }
            i += s.TokenCount;
        }
        return outputs;
    }

    private void Embed(ReadOnlySpan<int> tokens, Span<float> x)
    {
        var emb = w.TokenEmbedding;
        long rowBytes = GgmlTypes.Get(emb.Type).RowBytes(c.EmbeddingLength);
        for (int i = 0; i < tokens.Length; i++)
        {
            int id = tokens[i];
            if ((uint)id >= (uint)c.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(tokens), id, $"token id out of 0..{c.VocabSize - 1}");
            var row = new ReadOnlySpan<byte>(emb.Data + id * rowBytes, checked((int)rowBytes));
            QuantCodecs.Dequantize(emb.Type, row, x.Slice(i * c.EmbeddingLength, c.EmbeddingLength));
        }
    }

    private void RopeTables(int t, ForwardBuffers b)
    {
        int half = c.RopeDim / 2;
        for (int i = 0; i < t; i++)
            _rope.Table(b.Positions[i], new Span<float>(b.RopeCos + i * half, half), new Span<float>(b.RopeSin + i * half, half));
    }

    /// <summary>MLA attention in absorbed (latent) form; result in b.Proj.</summary>
    private void Attention(LayerWeights layer, Span<float> h, int t, ReadOnlySpan<BatchSegment> segments, ForwardBuffers b)
    {
        int e = c.EmbeddingLength, nh = c.HeadCount, dn = c.QkNopeDim, dr = c.RopeDim, dk = c.QkHeadDim;
        int r = c.KvLoraRank, dv = c.ValueHeadDim, row = c.LatentRowLength, half = dr / 2;
        Span<bool> expanded = segments.Length <= 64 ? stackalloc bool[segments.Length] : new bool[segments.Length];
        Expanded(segments, expanded);                                        // which segments attend in MHA form

        // q = QB · RmsNorm(QA · h)  or  q = Q · h                           [T, H·(Dn+Dr)]
        var q = new Span<float>(b.Q, t * nh * dk);
        if (layer.QA is { } qaMatrix)
        {
            var qa = new Span<float>(b.QA, t * c.QLoraRank);
            Mul(qaMatrix, h, t, qa);
            RmsNorm.Apply(qa, Vec(layer.QANorm, c.QLoraRank), c.RmsEps, qa);
            Mul(layer.QB, qa, t, q);
        }
        else
        {
            Mul(layer.QB, h, t, q);
        }
        if (Observer != null) Observe("q", layer.Index, q);

        // kv_a = KvA · h = [c (R) | k_pe (Dr)]; c ← RmsNorm(c); k_pe roped; row stored in its sequence's cache.
        var kva = new Span<float>(b.KvA, t * row);
        Mul(layer.KvA, h, t, kva);
        if (Observer != null) Observe("kv_cmpr_pe", layer.Index, kva);
        int first = 0;
        foreach (var s in segments)
        {
            var rows = Rows(s, layer.Index);
            for (int i = first; i < first + s.TokenCount; i++)
            {
                var kvRow = kva.Slice(i * row, row);
                RmsNorm.Apply(kvRow[..r], Vec(layer.KvANorm, r), c.RmsEps, kvRow[..r]);
                _rope.Rotate(kvRow[r..], Table(b.RopeCos, i, half), Table(b.RopeSin, i, half));
                LatentRowFormat.Write(kvType, kvRow, rows.Row(b.Positions[i]));
            }
            first += s.TokenCount;
        }
        if (Observer != null) Observe("Kcur", layer.Index, kva);

        // q_nope per head → q_abs = KB[h] · q_nope (latent space)             [H, T, R]
        if (Exact)
        {
            for (int hd = 0; hd < nh; hd++)
                for (int i = 0; i < t; i++)
                    q.Slice((i * nh + hd) * dk, dn).CopyTo(new Span<float>(b.QNope + ((long)hd * t + i) * dn, dn));
            for (int hd = 0; hd < nh; hd++)
                Mul(layer.KB[hd], new Span<float>(b.QNope + (long)hd * t * dn, t * dn), t,
                    new Span<float>(b.QAbs + (long)hd * t * r, t * r), MatMulPath.PerHeadWeight | MatMulPath.PermutedActivations);
            if (Observer != null) Observe("q_nope_absorbed", layer.Index, new Span<float>(b.QAbs, nh * t * r));
        }
        else
        {
            // All heads in one product, read from q and written straight into QFull's latent part (no gather, no copy),
            // for the tokens of segments that attend in absorbed form (runs of consecutive ones are contiguous rows).
            for (int i = 0, next = 0; i < segments.Length;)
            {
                int count = AbsorbedRun(segments, expanded, ref i, ref next, out int runFirst);
                if (count > 0)
                    HeadProducts.Multiply(layer.KB[0], layer.KB.StrideBytes, nh, new HeadProducts.Operands
                    {
                        X = b.Q + (long)runFirst * nh * dk, XHead = dk, XToken = (long)nh * dk,
                        Y = b.QFull + (long)runFirst * nh * row, YHead = row, YToken = (long)nh * row, Tokens = count,
                    }, pool);
            }
            if (Observer != null) Observe("q_nope_absorbed", layer.Index, new Span<float>(b.QFull, t * nh * row)); // [T, H, R+Dr] here
        }

        // Q[t, h] = [q_abs (R) | rope(q_pe) (Dr)]                            [T, H, R+Dr]
        for (int i = 0; i < t; i++)
            for (int hd = 0; hd < nh; hd++)
            {
                var dst = new Span<float>(b.QFull + ((long)i * nh + hd) * row, row);
                if (Exact)
                    new Span<float>(b.QAbs + ((long)hd * t + i) * r, r).CopyTo(dst);
                q.Slice((i * nh + hd) * dk + dn, dr).CopyTo(dst[r..]);
                _rope.Rotate(dst[r..], Table(b.RopeCos, i, half), Table(b.RopeSin, i, half));
            }

        // o_lat[h, t] = softmax(kq_scale · Q·K) · C over each sequence's visible cache rows   [H, T, R]
        if (Observer != null) Observe("Qcur", layer.Index, new Span<float>(b.QFull, t * nh * row));
        first = 0;
        for (int i = 0; i < segments.Length; i++)
        {
            var s = segments[i];
            if (expanded[i])
                ExpandedAttention(layer, Rows(s, layer.Index), first, s.TokenCount, s.Start, b);   // b.AttnOut rows directly
            else
                AttendSegment(Rows(s, layer.Index), first, s.TokenCount, s.Start, t, b);
            first += s.TokenCount;
        }
        if (Observer != null) Observe("kqv", layer.Index, new Span<float>(b.OLat, nh * t * r));

        // o[h] = VB[h] · o_lat[h]                                             [H, T, Dv] → [T, H·Dv]
        if (Exact)
        {
            for (int hd = 0; hd < nh; hd++)
                Mul(layer.VB[hd], new Span<float>(b.OLat + (long)hd * t * r, t * r), t,
                    new Span<float>(b.OHead + (long)hd * t * dv, t * dv), MatMulPath.PerHeadWeight);
            for (int i = 0; i < t; i++)
                for (int hd = 0; hd < nh; hd++)
                    new Span<float>(b.OHead + ((long)hd * t + i) * dv, dv)
                        .CopyTo(new Span<float>(b.AttnOut + ((long)i * nh + hd) * dv, dv));
        }
        else
        {
            for (int i = 0, next = 0; i < segments.Length;)
            {
                int count = AbsorbedRun(segments, expanded, ref i, ref next, out int runFirst);
                if (count > 0)
                    HeadProducts.Multiply(layer.VB[0], layer.VB.StrideBytes, nh, new HeadProducts.Operands
                    {
                        X = b.OLat + (long)runFirst * r, XHead = (long)t * r, XToken = r,
                        Y = b.AttnOut + (long)runFirst * nh * dv, YHead = dv, YToken = (long)nh * dv, Tokens = count,
                    }, pool);
            }
        }

        if (Observer != null) Observe("kqv_out", layer.Index, new Span<float>(b.AttnOut, t * nh * dv));
        Mul(layer.Output, new Span<float>(b.AttnOut, t * nh * dv), t, new Span<float>(b.Proj, t * e));
    }

    /// <summary>
    /// Which segments attend in decompressed (MHA) form: on the default path, unless batch-invariant, for prompt chunks
    /// long enough that expanding every visible row per head costs less than the absorbed form (see FlashMhaAttention).
    /// </summary>
    private void Expanded(ReadOnlySpan<BatchSegment> segments, Span<bool> expanded)
    {
        bool allowed = !Exact && !batchInvariant && FlashMhaAttention.Supports(c.QkNopeDim, c.ValueHeadDim);
        for (int i = 0; i < segments.Length; i++)
            expanded[i] = allowed && FlashMhaAttention.Pays(segments[i].TokenCount, segments[i].Start + segments[i].TokenCount,
                c.KvLoraRank, c.QkNopeDim, c.RopeDim, c.ValueHeadDim);
    }

    /// <summary>The next run of consecutive absorbed-form segments from segment <paramref name="i"/> (step row
    /// <paramref name="first"/>): its first row and token count (0 at the end); advances past it and one expanded segment.</summary>
    private static int AbsorbedRun(ReadOnlySpan<BatchSegment> segments, ReadOnlySpan<bool> expanded, ref int i, ref int first, out int runFirst)
    {
        runFirst = first;
        int count = 0;
        for (; i < segments.Length && !expanded[i]; i++)
            count += segments[i].TokenCount;
        first += count;
        if (i < segments.Length)
        {
            first += segments[i].TokenCount;   // skip the expanded segment that ends the run
            i++;
        }
        return count;
    }

    /// <summary>
    /// One sequence's prompt chunk in decompressed form: heads' outputs o = W_vb·o_lat written straight to
    /// b.AttnOut [T][H·Dv] from q_nope (b.Q) and the roped q_pe in b.QFull.
    /// </summary>
    private void ExpandedAttention(LayerWeights layer, in PagedRows cache, int first, int count, int start, ForwardBuffers b)
    {
        int nh = c.HeadCount, dk = c.QkHeadDim, row = c.LatentRowLength, dv = c.ValueHeadDim;
        FlashMhaAttention.Attend(new MhaAttentionInput
        {
            QueryNope = b.Q + (long)first * nh * dk, NopeTokenStride = (long)nh * dk, NopeHeadStride = dk,
            QueryRope = b.QFull + (long)first * nh * row + c.KvLoraRank, RopeTokenStride = (long)nh * row, RopeHeadStride = row,
            Tokens = count, Heads = nh, Nope = c.QkNopeDim, Rope = c.RopeDim, Latent = c.KvLoraRank, Value = dv, Start = start,
            Scale = c.KqScale, Output = b.AttnOut + (long)first * nh * dv, OutputTokenStride = (long)nh * dv, OutputHeadStride = dv,
        }, cache, layer.KB[0], layer.KB.StrideBytes, layer.VB[0], layer.VB.StrideBytes, b.Mha, pool);
    }

    /// <summary>
    /// The core attention of one sequence: its <paramref name="count"/> query rows (step tokens first.., at positions
    /// start..) against its cache rows 0..start+count−1 (causal: token i sees rows up to start+i), written to
    /// o_lat[h, first+i]. Inputs: b.QFull [T][H][R+Dr]; output b.OLat [H][T][R] (head stride <paramref name="stepTokens"/>·R).
    /// </summary>
    private void AttendSegment(in PagedRows cache, int first, int count, int start, int stepTokens, ForwardBuffers b)
    {
        int nh = c.HeadCount, row = c.LatentRowLength, visible = start + count;
        if (!Exact)
        {
            // Flash kernel: tiles of query rows against blocks of cache rows read in their stored format.
            FlashLatentAttention.Attend(new LatentAttentionInput
            {
                Queries = b.QFull + (long)first * nh * row, Tokens = count, Heads = nh, Latent = c.KvLoraRank, Rope = c.RopeDim,
                Start = start, Scale = c.KqScale, Output = b.OLat + (long)first * c.KvLoraRank,
                OutputHeadStride = (long)stepTokens * c.KvLoraRank, OutputTokenStride = c.KvLoraRank,
            }, cache, b.Flash, pool);
            return;
        }
        // Exact: llama.cpp's order (flash attention off), one query row at a time over rows decoded to F32.
        b.EnsureAttention(visible);
        for (int j = 0; j < visible; j++)
            LatentRowFormat.Read(kvType, cache.Row(j), new Span<float>(b.KvDecoded + (long)j * row, row));
        var job = new AttentionJob
        {
            Buffers = b.Scores, ScoresPerChunk = b.ScoresPerWorker, QFull = b.QFull + (long)first * nh * row,
            OLat = b.OLat + (long)first * c.KvLoraRank, OLatHeadStride = (long)stepTokens * c.KvLoraRank, Keys = b.KvDecoded,
            Tokens = count, Start = start, Heads = nh, Row = row, Latent = c.KvLoraRank, Scale = c.KqScale,
            Rows = nh * count, Chunks = Math.Min(nh * count, b.ScoreChunks), BatchInvariant = batchInvariant,
        };
        pool.Run(job.Chunks, &AttendChunk, &job);
    }

    /// <summary>A segment's cache rows of one layer (a block holds its layers one after another).</summary>
    private PagedRows Rows(in BatchSegment s, int layer)
    {
        var kv = s.Kv;
        return new PagedRows(kv.Addresses, kv.BlockTokens, layer * kv.BlockTokens * _rowBytes, _rowBytes,
            LatentRowFormat.ElementType(kvType), c.LatentRowLength, s.Start + s.TokenCount);
    }

    /// <summary>Dense SwiGLU FFN: Down · (silu(Gate·h) ⊙ Up·h); result in b.Down.</summary>
    private void DenseFfn(LayerWeights layer, Span<float> h, int t, ForwardBuffers b)
    {
        if (!Exact)
        {
            _ffn.Clear();
            _ffn.Add(layer.Gate!.Value, layer.Up!.Value, layer.Down!.Value, AllTokens(t), default);
            _ffn.Run(h, t, new Span<float>(b.Down, t * c.EmbeddingLength), batchInvariant);
            return;
        }
        SwiGluFfn(layer.Gate!.Value, layer.Up!.Value, layer.Down!.Value, h, t, b, new Span<float>(b.Down, t * c.EmbeddingLength), layer.Index);
    }

    private void SwiGluFfn(QuantMatrix gate, QuantMatrix up, QuantMatrix down, ReadOnlySpan<float> h, int t, ForwardBuffers b, Span<float> result,
        int layerIndex)
    {
        int ff = gate.Rows;
        var g = new Span<float>(b.Gate, t * ff);
        var u = new Span<float>(b.Up, t * ff);
        Mul(gate, h, t, g);
        Mul(up, h, t, u);
        if (Observer != null) { Observe("ffn_gate", layerIndex, g); Observe("ffn_up", layerIndex, u); }
        SwiGlu.Apply(g, u, ff);
        if (Observer != null) Observe("ffn_swiglu", layerIndex, g);
        Mul(down, g, t, result);
    }

    /// <summary>
    /// Routed experts (tokens grouped by expert so each expert's weights are read once per batch) plus the
    /// shared expert; result in b.Down.
    /// </summary>
    private void Moe(LayerWeights layer, Span<float> h, int t, ForwardBuffers b)
    {
        int e = c.EmbeddingLength, n = c.ExpertCount, k = c.ExpertUsedCount;

        // Router: logits = W_gate_inp · h; choose k experts per token.           [T, N]
        var logits = new Span<float>(b.RouterLogits, t * n);
        Mul(layer.Router!.Value, h, t, logits);
        if (Observer != null) Observe("ffn_moe_logits", layer.Index, logits);
        var selection = Observer != null ? new float[t * n] : null;          // diagnostics only
        for (int i = 0; i < t; i++)
        {
            _router.Route(logits.Slice(i * n, n), layer.RouterBias, new Span<float>(b.Selection, n),
                new Span<int>(b.ChosenExperts + i * k, k), new Span<float>(b.ExpertWeights + i * k, k));
            if (selection != null)
                new Span<float>(b.Selection, n).CopyTo(selection.AsSpan(i * n, n));
        }
        if (Observer != null)
        {
            Observe("ffn_moe_probs", layer.Index, logits);
            Observe("ffn_moe_selection", layer.Index, selection);
            var chosen = new float[t * k];
            for (int p = 0; p < t * k; p++)
                chosen[p] = b.ChosenExperts[p];
            Observe("ffn_moe_topk", layer.Index, chosen);
            Observe("ffn_moe_weights_scaled", layer.Index, new Span<float>(b.ExpertWeights, t * k));
        }

        // Bucket (token, slot) pairs by expert.
        var counts = new Span<int>(b.ExpertCounts, n);
        counts.Clear();
        for (int p = 0; p < t * k; p++)
            counts[b.ChosenExperts[p]]++;
        b.ExpertOffsets[0] = 0;
        for (int ex = 0; ex < n; ex++)
            b.ExpertOffsets[ex + 1] = b.ExpertOffsets[ex] + counts[ex];
        counts.Clear();
        for (int p = 0; p < t * k; p++)
        {
            int ex = b.ChosenExperts[p];
            b.ExpertPairs[b.ExpertOffsets[ex] + counts[ex]++] = p;
        }

        if (!Exact)
        {
            FusedMoe(layer, h, t, b, counts);
            return;
        }

        // Each chosen expert on its tokens: y = w · Down_e(silu(Gate_e x) ⊙ Up_e x)   [count, E]
        // h is quantized once for all experts' gate/up (ggml's MUL_MAT_ID does the same).
        var gateAct = Quantize(layer.GateExps.Type, h, t, b.QuantizedGate);
        var upAct = QuantizedActivationsEqual(layer.GateExps.Type, layer.UpExps.Type)
            ? gateAct : Quantize(layer.UpExps.Type, h, t, b.QuantizedUp);
        var tokenRows = new Span<int>(b.TokenRows, t);
        for (int ex = 0; ex < n; ex++)
        {
            int count = counts[ex];
            if (count == 0)
                continue;
            int* pairs = b.ExpertPairs + b.ExpertOffsets[ex];
            for (int j = 0; j < count; j++)
                tokenRows[j] = pairs[j] / k;
            int ff = layer.GateExps.Rows;
            var g = new Span<float>(b.Gate, count * ff);
            var u = new Span<float>(b.Up, count * ff);
            MatMul.Multiply(layer.GateExps[ex], gateAct, tokenRows[..count], g, pool, MatMulPath.ExpertRows | _paths);
            MatMul.Multiply(layer.UpExps[ex], upAct, tokenRows[..count], u, pool, MatMulPath.ExpertRows | _paths);
            SwiGlu.Apply(g, u, ff);
            var y = new Span<float>(b.Proj, count * e);
            Mul(layer.DownExps[ex], g, count, y, MatMulPath.ExpertRows);
            for (int j = 0; j < count; j++)
            {
                float weight = b.ExpertWeights[pairs[j]];
                var src = y.Slice(j * e, e);
                var dst = new Span<float>(b.SlotOutputs + (long)pairs[j] * e, e);
                for (int d = 0; d < e; d++)
                    dst[d] = src[d] * weight;
            }
        }

        // moe = Σ_slot y (slot order), then + shared expert.                   [T, E]
        var result = new Span<float>(b.Down, t * e);
        for (int i = 0; i < t; i++)
        {
            var dst = result.Slice(i * e, e);
            new Span<float>(b.SlotOutputs + (long)i * k * e, e).CopyTo(dst);
            for (int s = 1; s < k; s++)
                Add(dst, new Span<float>(b.SlotOutputs + ((long)i * k + s) * e, e));
        }
        if (layer.GateShared is { } gs)
        {
            var shared = new Span<float>(b.Shared, t * e);
            SwiGluFfn(gs, layer.UpShared!.Value, layer.DownShared!.Value, h, t, b, shared, layer.Index);
            if (Observer != null) Observe("ffn_moe_out", layer.Index, result);
            if (Observer != null) Observe("ffn_shexp", layer.Index, shared);
            Add(result, shared);
        }
    }

    /// <summary>
    /// The fast path's MoE: every chosen expert on its tokens with its routing weights, plus the shared expert on all tokens,
    /// summed in one <see cref="FusedFfn"/> step (two pool passes; no per-expert products or slot buffers).   [T, E]
    /// </summary>
    private void FusedMoe(LayerWeights layer, Span<float> h, int t, ForwardBuffers b, ReadOnlySpan<int> counts)
    {
        int k = c.ExpertUsedCount;
        if (_ffnWeights.Length < t) _ffnWeights = new float[Math.Max(t, b.Capacity)];
        _ffn.Clear();
        var expertTokens = new Span<int>(b.TokenRows, t);
        for (int ex = 0; ex < counts.Length; ex++)
        {
            int count = counts[ex];
            if (count == 0)
                continue;
            int* pairs = b.ExpertPairs + b.ExpertOffsets[ex];
            for (int j = 0; j < count; j++)
            {
                expertTokens[j] = pairs[j] / k;
                _ffnWeights[j] = b.ExpertWeights[pairs[j]];
            }
            _ffn.Add(layer.GateExps[ex], layer.UpExps[ex], layer.DownExps[ex], expertTokens[..count], _ffnWeights.AsSpan(0, count));
        }
        if (layer.GateShared is { } gs)
            _ffn.Add(gs, layer.UpShared!.Value, layer.DownShared!.Value, AllTokens(t), default);
        _ffn.Run(h, t, new Span<float>(b.Down, t * c.EmbeddingLength), batchInvariant);
    }

    /// <summary>0, 1, …, t−1 (a dense FFN's or the shared expert's tokens).</summary>
    private ReadOnlySpan<int> AllTokens(int t)
    {
        if (_ffnTokens.Length < t)
        {
            _ffnTokens = new int[Math.Max(t, 2 * _ffnTokens.Length)];
            for (int i = 0; i < _ffnTokens.Length; i++) _ffnTokens[i] = i;
        }
        return _ffnTokens.AsSpan(0, t);
    }

    private static ReadOnlySpan<float> Vec(float* p, int n) => new(p, n);

    private static bool QuantizedActivationsEqual(GgmlType a, GgmlType b) => QuantCodecs.VecDotType(a) == QuantCodecs.VecDotType(b);

    private QuantizedActivations Quantize(GgmlType weightType, ReadOnlySpan<float> x, int tokens, ForwardBuffers.ByteBuffer buffer) =>
        MatMul.QuantizeActivations(QuantCodecs.VecDotType(weightType), x, tokens, c.EmbeddingLength, buffer.Data, buffer.Length, pool);

    private static ReadOnlySpan<float> Table(float* p, int token, int half) => new(p + token * half, half);

    private static void Add(Span<float> y, ReadOnlySpan<float> x)
    {
        for (int i = 0; i < y.Length; i++)
            y[i] += x[i];
    }

    /// <summary>
    /// (head, token) query rows split into chunks; chunk i uses score scratch i, so chunks never share scratch
    /// whichever thread runs them.
    /// </summary>
    private struct AttentionJob
    {
        public float* Buffers;
        public int ScoresPerChunk;
        public float* QFull;
        public float* OLat;
        public long OLatHeadStride;
        public float* Keys;
        public int Tokens, Start, Heads, Row, Latent, Rows, Chunks;
        public float Scale;
        public bool BatchInvariant;
    }

    private static void AttendChunk(void* state, int chunk)
    {
        var job = (AttentionJob*)state;
        int per = (job->Rows + job->Chunks - 1) / job->Chunks;
        int first = chunk * per, last = Math.Min(job->Rows, first + per);
        var scores = new Span<float>(job->Buffers + (long)chunk * job->ScoresPerChunk, job->ScoresPerChunk);
        for (int task = first; task < last; task++)
        {
            int hd = task / job->Tokens, i = task % job->Tokens;
            LatentAttention.Attend(job->QFull + ((long)i * job->Heads + hd) * job->Row, job->Keys, job->Row,
                job->Start + i + 1, job->Latent, job->Scale, scores, job->OLat + hd * job->OLatHeadStride + (long)i * job->Latent,
                batched: job->Tokens > 1 && !job->BatchInvariant);
        }
    }
}
