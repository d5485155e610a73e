using System.Collections.Concurrent;
using LLama;
using LLama.Common;
using LLama.Native;

namespace KimiSharp.Conformance.LlamaCpp;

/// <summary>
/// llama.cpp (through LLamaSharp 0.30.0, CPU backend) as the reference implementation: loads a GGUF with flash
/// attention off and an F32 K/V cache (<see cref="LlamaMode.Exact"/>; or llama.cpp's own defaults, flash attention auto
/// and an F16 K/V cache: <see cref="LlamaMode.Defaults"/>), evaluates token sequences in one batch with logits for every position,
/// and generates greedily. Native libraries come from runtimes/linux-x64/native/{avx512,avx2,avx,noavx} in the
/// test output (copied there by LLamaSharp.Backend.Cpu); LLamaSharp picks the best one for this CPU.
/// </summary>
public sealed class LlamaReference : IDisposable
{
    private static readonly ConcurrentQueue<string> RecentLog = new();
    private static readonly object InitLock = new();
    private static bool _initialized;

    private readonly LLamaWeights _weights;
    private readonly ModelParams _params;

    private LlamaReference(string path, int contextSize, int threads, bool repackWeights, LlamaMode mode)
    {
        var kvType = mode == LlamaMode.Exact ? GGMLType.GGML_TYPE_F32 : GGMLType.GGML_TYPE_F16;
        _params = new ModelParams(path)
        {
            ContextSize = (uint)contextSize,
            BatchSize = (uint)contextSize,
            UBatchSize = (uint)contextSize,
            Threads = threads,
            BatchThreads = threads,
            GpuLayerCount = 0,
            // Exact: flash attention off; Defaults: null = llama.cpp's "auto" (on for the CPU backend).
            FlashAttention = mode == LlamaMode.Exact ? false : null,
            TypeK = kvType,
            TypeV = kvType,
        };
        Mode = mode;
        if (repackWeights)
        {
            _weights = LLamaWeights.LoadFromFile(_params);
        }
        else
        {
            // llama_model_params.use_extra_bufts = false: no CPU "extra buffer types", i.e. weights are not repacked
            // into interleaved 8x8 blocks, so mat-muls run ggml's plain vec_dot / tinyBLAS kernels.
            using (LLama.Extensions.IModelParamsExtensions.ToLlamaModelParams(_params, out var native))
            {
                native.use_extra_bufts = false;
                var handle = SafeLlamaModelHandle.LoadFromFile(path, native);
                _weights = (LLamaWeights)Activator.CreateInstance(typeof(LLamaWeights),
                    System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, null, [handle], null)!;
            }
        }
        VocabSize = _weights.Vocab.Count;
    }

    /// <summary>
    /// Whether LLamaSharp loads a llama.cpp build whose order our exact kernels reproduce on this machine: its avx512 or
    /// avx2 build, picked by LLamaSharp's own rule, which <see cref="KimiSharp.Quants.GgmlCpuVariant"/> mirrors. Not on
    /// CPUs without AVX2 (its avx/noavx builds are not reproduced).
    /// </summary>
    public static bool IsReproducedBuild => KimiSharp.Quants.GgmlCpuVariant.Avx512Build || KimiSharp.Quants.GgmlCpuVariant.Avx2;

    /// <summary>Which llama.cpp build LLamaSharp loads here, for test output.</summary>
    public static string BuildName =>
        KimiSharp.Quants.GgmlCpuVariant.Avx512Build ? "avx512" : System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "avx2" : "avx/noavx";

    /// <summary>How this llama.cpp context is configured.</summary>
    public LlamaMode Mode { get; }

    /// <summary>Vocabulary size as llama.cpp sees it (rows of the logits).</summary>
    public int VocabSize { get; }

    /// <summary>The native llama.cpp model (for tokenizer checks and metadata).</summary>
    public LLamaWeights Weights => _weights;

    /// <summary>Loads <paramref name="path"/> (a file or part 1 of a split set). Throws <see cref="InvalidOperationException"/> with llama.cpp's last log lines on failure.</summary>
    /// <param name="repackWeights">llama.cpp's default (true) lets ggml-cpu repack Q4_0/Q4_K/Q2_K/IQ4_NL weights into
    /// interleaved blocks with their own gemm kernels; false keeps the plain layout and vec_dot kernels.</param>
    /// <param name="mode">Exact (flash attention off, F32 KV: the order KimiSharp's --exact reproduces) or llama.cpp's defaults.</param>
    public static LlamaReference Load(string path, int contextSize = 256, int threads = 2, bool repackWeights = true, LlamaMode mode = LlamaMode.Exact)
    {
        EnsureNativeLibrary();
        while (RecentLog.TryDequeue(out _))
        {
        }
        try
        {
            return new LlamaReference(path, contextSize, threads, repackWeights, mode);
        }
        catch (Exception e) when (e is not InvalidOperationException)
        {
            throw new InvalidOperationException($"llama.cpp could not load {path}: {e.Message}\n{string.Join("", RecentLog)}", e);
        }
    }

    /// <summary>
    /// Evaluates <paramref name="tokens"/> as one sequence from position 0 in a single batch of a fresh context and
    /// returns the logits of every position: result[t][v].
    /// </summary>
    public float[][] EvaluateAll(IReadOnlyList<int> tokens)
    {
        if (tokens.Count == 0 || tokens.Count > _params.ContextSize)
            throw new ArgumentException($"between 1 and {_params.ContextSize} tokens, got {tokens.Count}", nameof(tokens));
        using var context = _weights.CreateContext(_params);
        var batch = new LLamaBatch();
        for (var i = 0; i < tokens.Count; i++)
            batch.Add(tokens[i], i, LLamaSeqId.Zero, logits: true);
        Decode(context, batch);
        var result = new float[tokens.Count][];
        for (var i = 0; i < tokens.Count; i++)
            result[i] = context.NativeHandle.GetLogitsIth(i).ToArray();
        return result;
    }

    /// <summary>
    /// The first <paramref name="prefill"/> tokens in one batch, then the rest one token per decode step (the two
    /// paths a server runs), in a fresh context; returns the logits of every position: result[t][v].
    /// </summary>
    public float[][] EvaluatePrefillThenDecode(IReadOnlyList<int> tokens, int prefill)
    {
        if (prefill < 1 || prefill > tokens.Count || tokens.Count > _params.ContextSize)
            throw new ArgumentException($"1 <= prefill ({prefill}) <= tokens ({tokens.Count}) <= {_params.ContextSize}", nameof(prefill));
        using var context = _weights.CreateContext(_params);
        var batch = new LLamaBatch();
        for (var i = 0; i < prefill; i++)
            batch.Add(tokens[i], i, LLamaSeqId.Zero, logits: true);
        Decode(context, batch);
        var result = new float[tokens.Count][];
        for (var i = 0; i < prefill; i++)
            result[i] = context.NativeHandle.GetLogitsIth(i).ToArray();
        for (var i = prefill; i < tokens.Count; i++)
        {
            batch.Clear();
            batch.Add(tokens[i], i, LLamaSeqId.Zero, logits: true);
            Decode(context, batch);
            result[i] = context.NativeHandle.GetLogitsIth(0).ToArray();
        }
        return result;
    }

    /// <summary>
    /// <see cref="EvaluateAll"/> with llama.cpp's eval callback on: also returns every F32 intermediate tensor of the
    /// graph (see <see cref="LlamaTensorCapture"/>), for locating where two implementations part ways.
    /// </summary>
    public (float[][] Logits, List<CapturedTensor> Tensors) EvaluateAllCapturing(IReadOnlyList<int> tokens)
    {
        if (tokens.Count == 0 || tokens.Count > _params.ContextSize)
            throw new ArgumentException($"between 1 and {_params.ContextSize} tokens, got {tokens.Count}", nameof(tokens));
        LLama.Extensions.IContextParamsExtensions.ToLlamaContextParams(_params, out var native);
        native.cb_eval = LlamaTensorCapture.Callback;
        native.cb_eval_user_data = 0;
        using var context = SafeLLamaContextHandle.Create(_weights.NativeHandle, native);
        var batch = new LLamaBatch();
        for (var i = 0; i < tokens.Count; i++)
            batch.Add(tokens[i], i, LLamaSeqId.Zero, logits: true);
        var tensors = LlamaTensorCapture.Capture(() =>
        {
            var result = context.Decode(batch);
            if (result != DecodeResult.Ok)
                throw new InvalidOperationException($"llama_decode failed: {result}\n{string.Join("", RecentLog)}");
        });
        var logits = new float[tokens.Count][];
        for (var i = 0; i < tokens.Count; i++)
            logits[i] = context.GetLogitsIth(i).ToArray();
        return (logits, tensors);
    }

    /// <summary>Greedy (argmax) generation of <paramref name="count"/> tokens after <paramref name="prompt"/> (prompt in one batch, then one token per step).</summary>
    public int[] GenerateGreedy(IReadOnlyList<int> prompt, int count)
    {
        if (prompt.Count == 0 || prompt.Count + count > _params.ContextSize)
            throw new ArgumentException("prompt plus generated tokens must fit in the context", nameof(count));
        using var context = _weights.CreateContext(_params);
        var batch = new LLamaBatch();
        for (var i = 0; i < prompt.Count; i++)
            batch.Add(prompt[i], i, LLamaSeqId.Zero, logits: i == prompt.Count - 1);
        Decode(context, batch);
        var output = new int[count];
        var position = prompt.Count;
        for (var k = 0; k < count; k++)
        {
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            var best = ArgMax(logits);
            output[k] = best;
            if (k == count - 1)
                break;
            batch.Clear();
            batch.Add(best, position++, LLamaSeqId.Zero, logits: true);
            Decode(context, batch);
        }
        return output;
    }

    /// <summary>llama.cpp's tokenization of <paramref name="text"/> (llama_tokenize with add_special / parse_special).</summary>
    public int[] Tokenize(string text, bool addBos = false, bool parseSpecial = false) =>
        _weights.NativeHandle.Tokenize(text, addBos, parseSpecial, System.Text.Encoding.UTF8).Select(t => (int)t).ToArray();

    /// <summary>Index of the largest value (the first one on ties, as a plain argmax).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
            if (values[i] > values[best])
                best = i;
        return best;
    }

    private static void Decode(LLamaContext context, LLamaBatch batch)
    {
        var result = context.NativeHandle.Decode(batch);
        if (result != DecodeResult.Ok)
            throw new InvalidOperationException($"llama_decode failed: {result}\n{string.Join("", RecentLog)}");
    }

    private static void EnsureNativeLibrary()
    {
        lock (InitLock)
        {
            if (_initialized)
                return;
            // Keep llama.cpp's (verbose) log out of test output, but remember the tail for error messages.
            NativeLogConfig.llama_log_set((level, message) =>
            {
                RecentLog.Enqueue(message);
                while (RecentLog.Count > 40 && RecentLog.TryDequeue(out _))
                {
                }
            });
            _initialized = true;
        }
    }

    public void Dispose() => _weights.Dispose();
}

/// <summary>How llama.cpp is configured: its exact mode, or the defaults its users run.</summary>
public enum LlamaMode
{
    /// <summary>Flash attention off, F32 K/V cache: the order KimiSharp's exact mode reproduces bit for bit.</summary>
    Exact,

    /// <summary>llama.cpp's defaults: flash attention auto (on for CPU), F16 K/V cache.</summary>
    Defaults,
}
