using System.Buffers.Binary;
using KimiSharp.Chat;
using KimiSharp.Gguf;
using KimiSharp.Quants;
using KimiSharp.Text;

namespace KimiSharp.TestModels;

/// <summary>
/// Writes random-weight deepseek2 GGUFs in the layout llama.cpp loads (MLA: attn_k_b/attn_v_b, head_count_kv 1,
/// key_length = kv_lora + rope; stacked 3-D experts; exp_probs_b; YaRN keys) with the test vocabulary and chat
/// template. Weights are deterministic in (spec.Seed, tensor name) and drawn uniform with std 1/sqrt(fan_in),
/// so activations stay near unit scale; norms are 1 ± 0.1 and the router bias is within ±0.02.
/// Data is generated while writing, so multi-GB shapes never sit in memory.
/// </summary>
public static class TestModelWriter
{
    public const string Architecture = "deepseek2";

    public static void Write(TestModelSpec spec, string path) => CreateWriter(spec).Write(path);

    /// <summary>Writes PREFIX-0000k-of-0000N.gguf parts; returns their paths.</summary>
    public static IReadOnlyList<string> WriteSplit(TestModelSpec spec, string pathPrefixWithoutExt, int parts) =>
        CreateWriter(spec).WriteSplit(pathPrefixWithoutExt, parts);

    /// <summary>A writer holding the model's metadata and tensors (add or change keys before writing).</summary>
    public static GgufWriter CreateWriter(TestModelSpec spec)
    {
        Validate(spec);
        var w = new GgufWriter();
        var vocab = !spec.IncludeTokenizer ? null : spec.FullKimiVocabulary ? KimiVocabulary.Build() : TestVocabulary.Build();
        var vocabSize = vocab?.Tokens.Length ?? VocabSize(spec);
        WriteMetadata(w, spec, vocabSize);
        if (vocab is not null)
            WriteTokenizer(w, vocab);
        foreach (var (name, dims, kind) in Layout(spec, vocabSize))
        {
            var type = TestModelTypes.Resolve(spec, name, dims[0]);
            if (!CanProduce(type))
                throw new NotSupportedException($"test models cannot be written in {type} yet (no quantizer for it in this build); tensor {name}");
            var seed = TensorSeed(spec.Seed, name);
            w.AddTensor(name, type, dims, s => WriteTensor(s, type, dims, kind, seed, spec.RandomBlockWeights));
        }
        return w;
    }

    /// <summary>Parameters and bytes of tensor data a model of <paramref name="spec"/> has, known before writing it.</summary>
    public static (long Parameters, long Bytes) Size(TestModelSpec spec)
    {
        Validate(spec);
        long parameters = 0, bytes = 0;
        foreach (var (name, dims, _) in Layout(spec, VocabSize(spec)))
        {
            long count = dims.Aggregate(1L, (a, d) => a * d);
            parameters += count;
            bytes += GgmlTypes.Get(TestModelTypes.Resolve(spec, name, dims[0])).RowBytes(dims[0]) * (count / dims[0]);
        }
        return (parameters, bytes);
    }

    private static int VocabSize(TestModelSpec spec) =>
        spec.FullKimiVocabulary ? KimiVocabulary.Size : spec.IncludeTokenizer ? TestVocabulary.Build().Tokens.Length : 512;

    /// <summary>Every tensor of the model in file order: name, ggml-order dims, and how its values are drawn.</summary>
    public static IReadOnlyList<(string Name, long[] Dims, WeightKind Kind)> Layout(TestModelSpec spec, int vocabSize)
    {
        long e = spec.EmbeddingLength, h = spec.HeadCount, dn = spec.QkNopeHeadDim, dr = spec.QkRopeHeadDim;
        long dv = spec.VHeadDim, rq = spec.QLoraRank, rkv = spec.KvLoraRank, ff = spec.DenseFfnLength;
        long fe = spec.ExpertFfnLength, n = spec.ExpertCount, shared = spec.ExpertFfnLength * spec.SharedExpertCount;
        var list = new List<(string, long[], WeightKind)> { ("token_embd.weight", [e, vocabSize], WeightKind.Embedding) };
        for (var i = 0; i < spec.LayerCount; i++)
        {
            var p = $"blk.{i}.";
            list.Add((p + "attn_norm.weight", [e], WeightKind.Norm));
            if (rq > 0)
            {
                list.Add((p + "attn_q_a.weight", [e, rq], WeightKind.Matrix));
                list.Add((p + "attn_q_a_norm.weight", [rq], WeightKind.Norm));
                list.Add((p + "attn_q_b.weight", [rq, h * (dn + dr)], WeightKind.Matrix));
            }
            else
            {
                list.Add((p + "attn_q.weight", [e, h * (dn + dr)], WeightKind.Matrix));
            }
            list.Add((p + "attn_kv_a_mqa.weight", [e, rkv + dr], WeightKind.Matrix));
            list.Add((p + "attn_kv_a_norm.weight", [rkv], WeightKind.Norm));
            list.Add((p + "attn_k_b.weight", [dn, rkv, h], WeightKind.Matrix));
            list.Add((p + "attn_v_b.weight", [rkv, dv, h], WeightKind.Matrix));
            list.Add((p + "attn_output.weight", [h * dv, e], WeightKind.Matrix));
            list.Add((p + "ffn_norm.weight", [e], WeightKind.Norm));
            if (spec.IsDense(i))
            {
                list.Add((p + "ffn_gate.weight", [e, ff], WeightKind.Matrix));
                list.Add((p + "ffn_up.weight", [e, ff], WeightKind.Matrix));
                list.Add((p + "ffn_down.weight", [ff, e], WeightKind.Matrix));
                continue;
            }
            list.Add((p + "ffn_gate_inp.weight", [e, n], WeightKind.Matrix));
            if (spec.HasExpertProbsBias)
                list.Add((p + "exp_probs_b.bias", [n], WeightKind.RouterBias));
            list.Add((p + "ffn_gate_exps.weight", [e, fe, n], WeightKind.Matrix));
            list.Add((p + "ffn_up_exps.weight", [e, fe, n], WeightKind.Matrix));
            list.Add((p + "ffn_down_exps.weight", [fe, e, n], WeightKind.Matrix));
            if (shared > 0)
            {
                list.Add((p + "ffn_gate_shexp.weight", [e, shared], WeightKind.Matrix));
                list.Add((p + "ffn_up_shexp.weight", [e, shared], WeightKind.Matrix));
                list.Add((p + "ffn_down_shexp.weight", [shared, e], WeightKind.Matrix));
            }
        }
        list.Add(("output_norm.weight", [e], WeightKind.Norm));
        list.Add(("output.weight", [e, vocabSize], WeightKind.Matrix));
        return list;
    }

    private static void Validate(TestModelSpec s)
    {
        if (s.EmbeddingLength <= 0 || s.LayerCount <= 0 || s.HeadCount <= 0 || s.KvLoraRank <= 0 || s.QkNopeHeadDim <= 0 ||
            s.QkRopeHeadDim <= 0 || s.VHeadDim <= 0 || s.QLoraRank < 0 || s.LeadingDenseCount < 0 || s.LeadingDenseCount > s.LayerCount)
            throw new ArgumentException($"test model spec '{s.Name}' has a non-positive or inconsistent dimension");
        if (s.LeadingDenseCount < s.LayerCount &&
            (s.ExpertCount <= 0 || s.ExpertUsedCount <= 0 || s.ExpertUsedCount > s.ExpertCount || s.ExpertFfnLength <= 0 || s.SharedExpertCount < 0))
            throw new ArgumentException($"test model spec '{s.Name}' has MoE layers but an invalid expert configuration");
        if (s.LeadingDenseCount > 0 && s.DenseFfnLength <= 0)
            throw new ArgumentException($"test model spec '{s.Name}' has dense layers but no dense FFN length");
        // llama.cpp decides "lite" (no q_lora, attn_q instead of attn_q_a/attn_q_b) by the layer count alone.
        if (s.QLoraRank > 0 && s.LayerCount is 26 or 27)
            throw new ArgumentException($"test model spec '{s.Name}': llama.cpp treats a deepseek2 model of {s.LayerCount} layers as DeepSeek-V2-Lite (no q_lora) and would not load this one; choose another layer count");
    }

    private static void WriteMetadata(GgufWriter w, TestModelSpec s, int vocabSize)
    {
        const string a = Architecture + ".";
        w.SetString("general.architecture", Architecture);
        w.SetString("general.name", $"KimiSharp test model {s.Name}");
        w.SetString("general.type", "model");
        if (FileType(s.Type) is { } fileType)
            w.SetUInt32("general.file_type", fileType);
        w.SetUInt32("general.quantization_version", 2);
        w.SetUInt32(a + "block_count", (uint)s.LayerCount);
        w.SetUInt32(a + "context_length", (uint)s.ContextLength);
        w.SetUInt32(a + "embedding_length", (uint)s.EmbeddingLength);
        w.SetUInt32(a + "feed_forward_length", (uint)s.DenseFfnLength);
        w.SetUInt32(a + "attention.head_count", (uint)s.HeadCount);
        w.SetUInt32(a + "attention.head_count_kv", 1);
        w.SetUInt32(a + "attention.key_length", (uint)s.KeyLength);
        w.SetUInt32(a + "attention.value_length", (uint)s.ValueLength);
        w.SetUInt32(a + "attention.key_length_mla", (uint)s.KeyLengthMla);
        w.SetUInt32(a + "attention.value_length_mla", (uint)s.ValueLengthMla);
        w.SetFloat32(a + "attention.layer_norm_rms_epsilon", s.RmsNormEpsilon);
        if (s.QLoraRank > 0)
            w.SetUInt32(a + "attention.q_lora_rank", (uint)s.QLoraRank);
        w.SetUInt32(a + "attention.kv_lora_rank", (uint)s.KvLoraRank);
        w.SetUInt32(a + "rope.dimension_count", (uint)s.QkRopeHeadDim);
        w.SetFloat32(a + "rope.freq_base", s.RopeFreqBase);
        if (s.YarnFactor > 0)
        {
            w.SetString(a + "rope.scaling.type", "yarn");
            w.SetFloat32(a + "rope.scaling.factor", s.YarnFactor);
            w.SetUInt32(a + "rope.scaling.original_context_length", (uint)s.YarnOriginalContext);
            w.SetFloat32(a + "rope.scaling.yarn_log_multiplier", s.YarnLogMultiplier);
        }
        w.SetUInt32(a + "leading_dense_block_count", (uint)s.LeadingDenseCount);
        w.SetUInt32(a + "vocab_size", (uint)vocabSize);
        if (s.LeadingDenseCount < s.LayerCount)
        {
            w.SetUInt32(a + "expert_feed_forward_length", (uint)s.ExpertFfnLength);
            w.SetUInt32(a + "expert_count", (uint)s.ExpertCount);
            w.SetUInt32(a + "expert_used_count", (uint)s.ExpertUsedCount);
            w.SetUInt32(a + "expert_shared_count", (uint)s.SharedExpertCount);
            w.SetUInt32(a + "expert_group_count", 1);
            w.SetUInt32(a + "expert_group_used_count", 1);
            w.SetFloat32(a + "expert_weights_scale", s.ExpertWeightsScale);
            if (s.ExpertWeightsNorm)
                w.SetBool(a + "expert_weights_norm", true);
            w.SetUInt32(a + "expert_gating_func", (uint)s.ExpertGatingFunc);
        }
    }

    private static void WriteTokenizer(GgufWriter w, TokenizerData v)
    {
        w.SetString("tokenizer.ggml.model", v.Model);
        w.SetString("tokenizer.ggml.pre", v.Pre);
        w.SetArray("tokenizer.ggml.tokens", v.Tokens);
        w.SetArray("tokenizer.ggml.token_type", v.TokenTypes);
        w.SetArray("tokenizer.ggml.merges", v.Merges);
        w.SetUInt32("tokenizer.ggml.bos_token_id", (uint)v.BosId);
        w.SetUInt32("tokenizer.ggml.eos_token_id", (uint)v.EosId);
        if (v.PadId is { } pad)
            w.SetUInt32("tokenizer.ggml.padding_token_id", (uint)pad);
        w.SetBool("tokenizer.ggml.add_bos_token", v.AddBos);
        w.SetBool("tokenizer.ggml.add_eos_token", false);
        w.SetString("tokenizer.chat_template", KimiChatTemplate.Source);
    }

    /// <summary>llama_ftype of an all-one-type file (only the float ones are unambiguous).</summary>
    private static uint? FileType(GgmlType t) => t switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.BF16 => 32,
        _ => null,
    };

    /// <summary>Types a test model can be written in: floats, anything with a quantizer, anything RandomBlocks can fill.</summary>
    public static bool CanProduce(GgmlType t) =>
        t is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 || QuantCodecs.CanQuantize(t) || QuantCodecs.IsSupported(t);

    /// <summary>FNV-1a of the name mixed with the seed: each tensor's values depend only on (seed, name).</summary>
    private static ulong TensorSeed(int seed, string name)
    {
        var h = 14695981039346656037UL ^ (ulong)(uint)seed;
        foreach (var ch in name)
            h = (h ^ ch) * 1099511628211UL;
        return h;
    }

    private static void WriteTensor(Stream output, GgmlType type, long[] dims, WeightKind kind, ulong seed, bool randomBlockWeights)
    {
        var row = dims[0];
        var rows = 1L;
        for (var i = 1; i < dims.Length; i++)
            rows *= dims[i];
        var info = GgmlTypes.Get(type);
        var rowsPerChunk = (int)Math.Max(1, Math.Min(rows, (1 << 20) / row));
        var bytes = new byte[info.RowBytes(row) * rowsPerChunk];
        // Uniform on [-a, a] has std a/√3: a = √3 · std.
        var (center, halfWidth) = kind switch
        {
            WeightKind.Norm => (1f, 0.1f),
            WeightKind.RouterBias => (0f, 0.02f),
            WeightKind.Embedding => (0f, MathF.Sqrt(3f)),
            _ => (0f, MathF.Sqrt(3f / row)),
        };
        bool isFloat = type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16;
        if (!isFloat && (randomBlockWeights || !QuantCodecs.CanQuantize(type)))
        {
            // Valid random blocks of about the same magnitude, straight into the output buffer: no floats in between.
            var randomBlocks = new Random((int)(seed ^ (seed >> 32)));
            for (long done = 0; done < rows; done += rowsPerChunk)
            {
                var dst = bytes.AsSpan(0, (int)(Math.Min(rowsPerChunk, rows - done) * info.RowBytes(row)));
                RandomBlocks.Fill(type, dst, randomBlocks, 2 * halfWidth);
                output.Write(dst);
            }
            return;
        }

        var values = new float[rowsPerChunk * row];
        var rng = new SplitMix64(seed);
        for (long done = 0; done < rows; done += rowsPerChunk)
        {
            var n = (int)Math.Min(rowsPerChunk, rows - done);
            var src = values.AsSpan(0, (int)(n * row));
            for (var i = 0; i < src.Length; i++)
                src[i] = center + halfWidth * rng.NextSigned();
            var dst = bytes.AsSpan(0, (int)(n * info.RowBytes(row)));
            Encode(type, src, dst);
            output.Write(dst);
        }
    }

    private static void Encode(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        switch (type)
        {
            case GgmlType.F32:
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(src).CopyTo(dst);
                break;
            case GgmlType.F16:
                for (var i = 0; i < src.Length; i++)
                    BinaryPrimitives.WriteHalfLittleEndian(dst[(2 * i)..], (Half)src[i]);
                break;
            case GgmlType.BF16:
                for (var i = 0; i < src.Length; i++)
                    BinaryPrimitives.WriteUInt16LittleEndian(dst[(2 * i)..], ToBf16(src[i]));
                break;
            default:
                QuantCodecs.Quantize(type, src, dst);
                break;
        }
    }

    /// <summary>fp32 → bf16 with round-to-nearest-even, NaN kept quiet (as ggml_compute_fp32_to_bf16).</summary>
    internal static ushort ToBf16(float f)
    {
        var u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffff) > 0x7f800000)
            return (ushort)((u >> 16) | 64);
        return (ushort)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }

    /// <summary>How a tensor's values are drawn.</summary>
    public enum WeightKind
    {
        Matrix,
        Embedding,
        Norm,
        RouterBias,
    }

    /// <summary>SplitMix64 (Steele et al. 2014): fast, deterministic across platforms and .NET versions.</summary>
    private struct SplitMix64(ulong state)
    {
        private ulong _state = state;

        public ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [-1, 1).</summary>
        public float NextSigned() => (Next() >> 40) * (2f / (1 << 24)) - 1f;
    }
}
