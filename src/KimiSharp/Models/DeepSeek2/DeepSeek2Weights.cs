using System.Runtime.InteropServices;
using KimiSharp.Compute;
using KimiSharp.Gguf;
using KimiSharp.Quants;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>
/// Every tensor the forward pass reads, as views over the memory-mapped GGUF, checked against the config
/// (name, shape, type). The only copies are small non-F32 norm vectors and, for legacy <c>attn_kv_b</c>
/// files, the transposed F32 <c>k_b</c> the absorbed attention needs.
/// </summary>
internal sealed unsafe class DeepSeek2Weights : IDisposable
{
    private readonly List<nint> _owned = [];

    public QuantMatrix TokenEmbedding { get; private set; }
    public float* OutputNorm { get; private set; }
    public QuantMatrix Output { get; private set; }
    public LayerWeights[] Layers { get; private set; } = [];

    /// <summary>Bytes this object allocated itself (not in the map).</summary>
    public long OwnedBytes { get; private set; }

    private DeepSeek2Weights() { }

    public static DeepSeek2Weights Load(GgufFile file, DeepSeek2Config c)
    {
        var w = new Loader(file);
        var result = new DeepSeek2Weights();
        try
        {
            result.Build(file, c, w);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private void Build(GgufFile file, DeepSeek2Config c, Loader w)
    {
        var owner = this;
        TokenEmbedding = w.Matrix("token_embd.weight", c.EmbeddingLength, c.VocabSize);
        int e = c.EmbeddingLength, h = c.HeadCount;
        var layers = new LayerWeights[c.LayerCount];
        for (int i = 0; i < c.LayerCount; i++)
        {
            string p = $"blk.{i}.";
            QuantMatrix? qa = null;
            float* qaNorm = null;
            QuantMatrix qb;
            if (c.QLoraRank > 0)
            {
                qa = w.Matrix(p + "attn_q_a.weight", e, c.QLoraRank);
                qaNorm = w.Vector(p + "attn_q_a_norm.weight", c.QLoraRank, owner);
                qb = w.Matrix(p + "attn_q_b.weight", c.QLoraRank, h * c.QkHeadDim);
            }
            else
            {
                qb = w.Matrix(p + "attn_q.weight", e, h * c.QkHeadDim);
            }

            MatrixStack kb, vb;
            if (c.IsMla)
            {
                kb = w.Stack(p + "attn_k_b.weight", c.QkNopeDim, c.KvLoraRank, h);
                vb = w.Stack(p + "attn_v_b.weight", c.KvLoraRank, c.ValueHeadDim, h);
            }
            else
            {
                (kb, vb) = SplitLegacyKvB(file, w, p + "attn_kv_b.weight", c, owner);
            }

            bool dense = c.IsDenseLayer(i);
            var layer = new LayerWeights
            {
                Index = i,
                AttnNorm = w.Vector(p + "attn_norm.weight", e, owner),
                QA = qa,
                QANorm = qaNorm,
                QB = qb,
                KvA = w.Matrix(p + "attn_kv_a_mqa.weight", e, c.KvLoraRank + c.RopeDim),
                KvANorm = w.Vector(p + "attn_kv_a_norm.weight", c.KvLoraRank, owner),
                KB = kb,
                VB = vb,
                Output = w.Matrix(p + "attn_output.weight", h * c.ValueHeadDim, e),
                FfnNorm = w.Vector(p + "ffn_norm.weight", e, owner),
                Gate = dense ? w.Matrix(p + "ffn_gate.weight", e, c.FeedForwardLength[i]) : null,
                Up = dense ? w.Matrix(p + "ffn_up.weight", e, c.FeedForwardLength[i]) : null,
                Down = dense ? w.Matrix(p + "ffn_down.weight", c.FeedForwardLength[i], e) : null,
            };
            if (!dense)
                layer = WithMoe(layer, w, p, c, owner);
            layers[i] = layer;
        }

        OutputNorm = w.Vector("output_norm.weight", e, owner);
        Output = w.Has("output.weight") ? w.Matrix("output.weight", e, c.VocabSize) : TokenEmbedding;
        Layers = layers;
    }

    private static LayerWeights WithMoe(LayerWeights l, Loader w, string p, DeepSeek2Config c, DeepSeek2Weights owner)
    {
        int e = c.EmbeddingLength, n = c.ExpertCount, ff = c.ExpertFeedForwardLength;
        if (ff <= 0)
            throw new ModelLoadException("'deepseek2.expert_feed_forward_length' is missing or 0; expected the expert FFN width", "deepseek2.expert_feed_forward_length");
        MatrixStack gate, up;
        bool fused = w.Has(p + "ffn_gate_up_exps.weight");
        if (fused)
        {
            var both = w.Stack(p + "ffn_gate_up_exps.weight", e, 2 * ff, n);
            long half = GgmlTypes.Get(both.Type).RowBytes(e) * ff;
            var baseMatrix = both[0];
            long stride = half * 2;
            gate = new MatrixStack(baseMatrix.Data, both.Type, ff, e, n, stride);
            up = new MatrixStack(baseMatrix.Data + half, both.Type, ff, e, n, stride);
        }
        else
        {
            gate = w.Stack(p + "ffn_gate_exps.weight", e, ff, n);
            up = w.Stack(p + "ffn_up_exps.weight", e, ff, n);
        }
        int shared = ff * c.ExpertSharedCount;
        return new LayerWeights
        {
            Index = l.Index,
            AttnNorm = l.AttnNorm,
            QA = l.QA,
            QANorm = l.QANorm,
            QB = l.QB,
            KvA = l.KvA,
            KvANorm = l.KvANorm,
            KB = l.KB,
            VB = l.VB,
            Output = l.Output,
            FfnNorm = l.FfnNorm,
            Router = w.Matrix(p + "ffn_gate_inp.weight", e, n),
            RouterBias = w.Has(p + "exp_probs_b.bias") ? w.Vector(p + "exp_probs_b.bias", n, owner) : null,
            GateExps = gate,
            UpExps = up,
            FusedGateUp = fused,
            DownExps = w.Stack(p + "ffn_down_exps.weight", ff, e, n),
            GateShared = shared > 0 ? w.Matrix(p + "ffn_gate_shexp.weight", e, shared) : null,
            UpShared = shared > 0 ? w.Matrix(p + "ffn_up_shexp.weight", e, shared) : null,
            DownShared = shared > 0 ? w.Matrix(p + "ffn_down_shexp.weight", shared, e) : null,
        };
    }

    /// <summary>
    /// Legacy <c>attn_kv_b</c> {Rkv, H·(Dn+Dv)}: per head Dn k-rows then Dv v-rows, each Rkv long. The v rows are
    /// already W_UV[h] and stay a view; the k rows are dequantized and transposed into F32 W_UK[h]ᵀ (Rkv × Dn).
    /// </summary>
    private static (MatrixStack Kb, MatrixStack Vb) SplitLegacyKvB(GgufFile file, Loader w, string name, DeepSeek2Config c, DeepSeek2Weights owner)
    {
        int h = c.HeadCount, dn = c.QkNopeDim, dv = c.ValueHeadDim, r = c.KvLoraRank;
        var m = w.Matrix(name, r, h * (dn + dv));
        var info = GgmlTypes.Get(m.Type);
        long rowBytes = info.RowBytes(r);
        var vb = new MatrixStack(m.Data + dn * rowBytes, m.Type, dv, r, h, (dn + dv) * rowBytes);

        long count = (long)h * r * dn;
        var kb = (float*)owner.Allocate(count * sizeof(float));
        var row = new float[r];
        for (int head = 0; head < h; head++)
            for (int d = 0; d < dn; d++)
            {
                var src = new ReadOnlySpan<byte>(m.Data + ((long)head * (dn + dv) + d) * rowBytes, checked((int)rowBytes));
                QuantCodecs.Dequantize(m.Type, src, row);
                float* dst = kb + (long)head * r * dn;
                for (int k = 0; k < r; k++)
                    dst[(long)k * dn + d] = row[k];
            }
        return (new MatrixStack((byte*)kb, GgmlType.F32, r, dn, h, (long)r * dn * sizeof(float)), vb);
    }

    private void* Allocate(long bytes)
    {
        void* p = NativeMemory.AllocZeroed((nuint)bytes);
        _owned.Add((nint)p);
        OwnedBytes += bytes;
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _owned)
            NativeMemory.Free((void*)p);
        _owned.Clear();
    }

    /// <summary>Looks tensors up and checks them, naming the tensor and the expectation on failure.</summary>
    private sealed class Loader(GgufFile file)
    {
        public bool Has(string name) => file.TryGetTensor(name, out _);

        private GgufTensorInfo Get(string name, long[] expected)
        {
            if (!file.TryGetTensor(name, out var t))
                throw new ModelLoadException($"tensor '{name}' is missing (expected shape {Shape(expected)})", name);
            if (t.Dims.Length != expected.Length && !(t.Dims.Length > expected.Length && t.Dims.Skip(expected.Length).All(d => d == 1)))
                throw new ModelLoadException($"tensor '{name}' has shape {Shape(t.Dims)}; expected {Shape(expected)}", name);
            for (int i = 0; i < expected.Length; i++)
                if (t.Dims[i] != expected[i])
                    throw new ModelLoadException($"tensor '{name}' has shape {Shape(t.Dims)}; expected {Shape(expected)}", name);
            return t;
        }

        public QuantMatrix Matrix(string name, int cols, int rows)
        {
            var t = Get(name, [cols, rows]);
            CheckType(t, cols);
            return new QuantMatrix(file.GetTensorData(t), t.Type, rows, cols);
        }

        public MatrixStack Stack(string name, int cols, int rows, int count)
        {
            var t = Get(name, [cols, rows, count]);
            CheckType(t, cols);
            long stride = GgmlTypes.Get(t.Type).RowBytes(cols) * rows;
            return new MatrixStack(file.GetTensorData(t), t.Type, rows, cols, count, stride);
        }

        /// <summary>A 1-D F32 vector in the map, or a dequantized copy owned by <paramref name="owner"/>.</summary>
        public float* Vector(string name, int n, DeepSeek2Weights owner)
        {
            var t = Get(name, [n]);
            CheckType(t, n);
            if (t.Type == GgmlType.F32)
                return (float*)file.GetTensorData(t);
            var copy = (float*)owner.Allocate((long)n * sizeof(float));
            QuantCodecs.Dequantize(t.Type, new ReadOnlySpan<byte>(file.GetTensorData(t), checked((int)t.ByteSize)), new Span<float>(copy, n));
            return copy;
        }

        private static void CheckType(GgufTensorInfo t, int rowLength)
        {
            if (!QuantCodecs.IsSupported(t.Type))
                throw new ModelLoadException($"tensor '{t.Name}' has type {t.Type}, which this build cannot compute with", t.Name);
            int block = GgmlTypes.Get(t.Type).BlockSize;
            if (rowLength % block != 0)
                throw new ModelLoadException($"tensor '{t.Name}' has rows of {rowLength} values; type {t.Type} needs a multiple of {block}", t.Name);
        }

        private static string Shape(long[] dims) => "{" + string.Join(", ", dims) + "}";
    }
}
