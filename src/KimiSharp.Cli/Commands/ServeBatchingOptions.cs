using System.CommandLine;
using System.Globalization;
using KimiSharp.Engine;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Cli.Commands;

/// <summary>What <c>kimi serve</c> was told about batching, the KV cache and the prefix cache.</summary>
/// <param name="BatchTokens">Tokens one engine step may hold (<c>--batch</c>).</param>
/// <param name="KvType">Latent KV cache element type (<c>--kv-type</c>); null = F16, or F32 with <c>--exact</c>.</param>
/// <param name="CacheRamGb">Prefix cache RAM for blocks no sequence uses (<c>--cache-ram</c>), in GiB.</param>
/// <param name="CacheDirectory">Persistent prefix cache folder (<c>--cache-dir</c>), or null.</param>
/// <param name="CacheDiskGb">Persistent prefix cache disk budget (<c>--cache-disk</c>), in GiB.</param>
internal sealed record ServeBatchingSettings(int BatchTokens = 512, KvCacheType? KvType = null, double CacheRamGb = 2, string? CacheDirectory = null, double CacheDiskGb = 10)
{
    public KvCacheType EffectiveKvType(bool exact) => KvType ?? (exact ? KvCacheType.F32 : KvCacheType.F16);

    public void Validate(int parallel)
    {
        if (BatchTokens < parallel) throw new ArgumentException($"--batch must be >= --parallel ({parallel}): each running sequence takes one token a step (got {BatchTokens})");
        if (!double.IsFinite(CacheRamGb) || CacheRamGb < 0) throw new ArgumentException($"--cache-ram must be >= 0 GiB (got {CacheRamGb})");
        if (!double.IsFinite(CacheDiskGb) || CacheDiskGb < 0) throw new ArgumentException($"--cache-disk must be >= 0 GiB (got {CacheDiskGb})");
        if (CacheDirectory is { Length: 0 }) throw new ArgumentException("--cache-dir must name a folder");
    }

    /// <summary>
    /// The engine's options for a model: checks that one full context fits the KV memory estimate (a clear error says
    /// what would fit), and bounds the KV pool by that estimate.
    /// </summary>
    /// <param name="log">Receives the KV figures printed at start.</param>
    public EngineOptions EngineOptions(ILanguageModel model, long modelFileBytes, int contextLength, int parallel, int maxQueued, bool exact,
        TextWriter log)
    {
        int context = contextLength > 0 ? contextLength : model.TrainedContextLength;
        long bytesPerToken = model.KvBytesPerToken;
        long budget = KvMemory.BudgetBytes(modelFileBytes);
        if ((long)context * bytesPerToken > budget)
            throw new KvMemoryException(context, bytesPerToken, budget);
        long cacheRam = (long)(CacheRamGb * (1L << 30));
        long wanted = parallel * ((long)context + KvBlockPool.DefaultBlockTokens) * bytesPerToken + cacheRam;
        long kvBytes = Math.Min(wanted, budget);
        string type = EffectiveKvType(exact).ToString().ToLowerInvariant();
        string disk = CacheDirectory is null ? "" : $", disk {CacheDirectory} up to {KvMemory.Format((long)(CacheDiskGb * (1L << 30)))}";
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kimi serve: KV cache {type}, {bytesPerToken:N0} bytes/token ({KvMemory.Format(context * bytesPerToken)} for a full context of {context:N0}); KV memory up to {KvMemory.Format(kvBytes)} of {KvMemory.Format(budget)} available, prefix cache RAM {KvMemory.Format(cacheRam)}{disk}"));
        if (context > model.TrainedContextLength)
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"kimi serve: warning: --ctx {context:N0} is beyond the model's trained context of {model.TrainedContextLength:N0} tokens"));
        return new EngineOptions
        {
            ContextLength = context,
            MaxActiveSequences = parallel,
            MaxQueuedRequests = maxQueued,
            BatchTokens = BatchTokens,
            KvCacheBytes = kvBytes,
            PrefixCacheBytes = cacheRam,
            CacheDirectory = CacheDirectory,
            CacheDiskBytes = (long)(CacheDiskGb * (1L << 30)),
            Warn = message => log.WriteLine($"kimi serve: warning: {message}"),
        };
    }
}

/// <summary>The <c>kimi serve</c> flags for batching and caching.</summary>
internal sealed class ServeBatchingOptions
{
    private readonly Option<int> _batch = new("--batch", "-b") { Description = "Tokens one engine step may hold: a decode token for each running sequence plus prompt chunks", DefaultValueFactory = _ => 512 };
    private readonly Option<string?> _kvType = new("--kv-type", "-ctk") { Description = "Latent KV cache type: f32, f16 or q8_0 (default f16; f32 with --exact)" };
    private readonly Option<double> _cacheRam = new("--cache-ram") { Description = "GiB of RAM the prefix cache may keep in blocks no running request uses (least recently used go first)", DefaultValueFactory = _ => 2 };
    private readonly Option<string?> _cacheDir = new("--cache-dir") { Description = "Folder for the persistent prefix cache (reloaded after a restart); default: none" };
    private readonly Option<double> _cacheDisk = new("--cache-disk") { Description = "GiB the persistent prefix cache may use on disk (least recently used files go first)", DefaultValueFactory = _ => 10 };

    public IEnumerable<Option> All => [_batch, _kvType, _cacheRam, _cacheDir, _cacheDisk];

    public ServeBatchingSettings Read(ParseResult result) => new(
        result.GetValue(_batch), ParseKvType(result.GetValue(_kvType)), result.GetValue(_cacheRam), result.GetValue(_cacheDir), result.GetValue(_cacheDisk));

    public static KvCacheType? ParseKvType(string? text) => text?.ToLowerInvariant() switch
    {
        null => null,
        "f32" => KvCacheType.F32,
        "f16" => KvCacheType.F16,
        "q8_0" => KvCacheType.Q8_0,
        _ => throw new ArgumentException($"--kv-type must be f32, f16 or q8_0 (got '{text}')"),
    };
}
