using KimiSharp.Compute;
using KimiSharp.Engine;
using KimiSharp.Gguf;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>
/// A deepseek2-architecture model (Kimi-K2, DeepSeek-V2/V3/R1) read in place from a memory-mapped GGUF.
/// Sessions hold the per-sequence latent KV cache; the model itself is read-only after load.
/// </summary>
public sealed class DeepSeek2Model : ILanguageModel
{
    private readonly DeepSeek2Weights _weights;
    private readonly WorkerPool _pool;
    private readonly DeepSeek2Forward _forward;
    private readonly GgufFile? _ownedFile;
    private readonly Lazy<string> _identity;

    private DeepSeek2Model(GgufFile file, DeepSeek2Config config, DeepSeek2Weights weights, ModelOptions options, GgufFile? owned)
    {
        File = file;
        Config = config;
        Options = options;
        _weights = weights;
        _ownedFile = owned;
        _pool = new WorkerPool(options.Threads);
        _forward = new DeepSeek2Forward(config, weights, _pool, options.BatchInvariant, options.MatchLlamaCppRepacking,
            options.Exact, options.CacheType);
        _identity = new Lazy<string>(() =>
            $"deepseek2;file={GgufFileIdentity.Compute(file)};kv={options.CacheType};exact={options.Exact};" +
            $"invariant={options.BatchInvariant};repack={options.MatchLlamaCppRepacking};yarn={options.YarnBetaFast}/{options.YarnBetaSlow}");
    }

    public DeepSeek2Config Config { get; }
    public ModelOptions Options { get; }
    public GgufFile File { get; }

    public int VocabSize => Config.VocabSize;
    public int TrainedContextLength => Config.ContextLength;

    /// <summary>Memory the model allocated itself (copied norms, legacy k_b); the weights stay in the map.</summary>
    public long OwnedBytes => _weights.OwnedBytes;

    /// <summary>KV cache bytes per token of context with the configured cache type.</summary>
    public long KvCacheBytesPerToken => LatentRowFormat.RowBytes(Options.CacheType, Config.LatentRowLength) * Config.LayerCount;

    long ILanguageModel.KvBytesPerToken => KvCacheBytesPerToken;

    /// <summary>The model file's identity (a hash of its headers and samples of every tensor), the cache type and the
    /// options that change the cached values; computed on first use.</summary>
    public string KvIdentity => _identity.Value;

    /// <summary>Builds the model over <paramref name="file"/> (which must outlive it).</summary>
    public static DeepSeek2Model Load(GgufFile file, ModelOptions options) => Load(file, options, owned: null);

    /// <summary>Opens a GGUF (any part of a split set) and builds the model, which then owns the file.</summary>
    public static DeepSeek2Model Load(string path, ModelOptions options)
    {
        var file = GgufFile.Open(path);
        try
        {
            return Load(file, options, owned: file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static DeepSeek2Model Load(GgufFile file, ModelOptions options, GgufFile? owned)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Threads < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.Threads, "Threads must be at least 1");
        if (options.MaxBatch < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxBatch, "MaxBatch must be at least 1");
        var config = DeepSeek2Config.FromMetadata(file.Metadata, options.YarnBetaFast, options.YarnBetaSlow);
        var weights = DeepSeek2Weights.Load(file, config);
        return new DeepSeek2Model(file, config, weights, options, owned);
    }

    /// <summary>A new sequence whose latent KV cache holds up to <paramref name="maxTokens"/> tokens.</summary>
    public DeepSeek2Session CreateSession(int maxTokens)
    {
        if (maxTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "a session needs room for at least one token");
        return new DeepSeek2Session(this, maxTokens);
    }

    IModelSession ILanguageModel.CreateSession(int maxTokens) => CreateSession(maxTokens);

    /// <summary>Step scratch for batched forward passes of up to <paramref name="maxTokens"/> tokens over paged caches.</summary>
    public IBatchRunner CreateBatchRunner(int maxTokens) => new DeepSeek2BatchRunner(this, maxTokens);

    /// <summary>One line for logs: shape, file size, own allocations, KV cache cost.</summary>
    public string Describe(int contextTokens) =>
        $"deepseek2: {Config.LayerCount} layers, {Config.EmbeddingLength} embd, {Config.HeadCount} heads, " +
        $"{Config.ExpertCount} experts ({Config.ExpertUsedCount} used), vocab {Config.VocabSize}; " +
        $"file {File.TotalFileSize / (1024.0 * 1024):F1} MiB mapped, {OwnedBytes / (1024.0 * 1024):F1} MiB own; " +
        $"KV cache {Options.CacheType} {KvCacheBytesPerToken} B/token = {KvCacheBytesPerToken * (double)contextTokens / (1024 * 1024):F1} MiB at {contextTokens} tokens";

    internal DeepSeek2Forward Forward => _forward;
    internal int Workers => _pool.Threads;

    public void Dispose()
    {
        _forward.Dispose();
        _pool.Dispose();
        _weights.Dispose();
        _ownedFile?.Dispose();
    }
}
