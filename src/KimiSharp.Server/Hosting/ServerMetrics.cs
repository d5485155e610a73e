using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using KimiSharp.Server.Backend;

namespace KimiSharp.Server.Hosting;

/// <summary>
/// Counters behind GET /metrics, rendered in the Prometheus text exposition format: KimiSharp's own <c>kimi_*</c> metrics,
/// and the <c>vllm:*</c> names LLM routers read to balance replicas (llm-d's inference scheduler, vLLM's production-stack
/// router, SGLang's router): requests running and waiting, KV cache usage, prefix cache queries and hits, preemptions,
/// token counters and latency histograms, each labelled with <c>model_name</c> like vLLM's.
/// </summary>
public sealed class ServerMetrics
{
    /// <summary>Upper bounds (seconds) of the latency histograms: vLLM's time-to-first-token buckets.</summary>
    private static readonly double[] LatencyBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];

    private readonly Histogram _timeToFirstToken = new(LatencyBuckets);
    private readonly Histogram _requestLatency = new(LatencyBuckets);
    private readonly ConcurrentDictionary<(string Route, int Status), long> _requests = new();
    private long _promptTokens;
    private long _generatedTokens;
    private long _generationTicks;
    private long _promptTicks;
    private long _cancelled;

    public void RecordRequest(string route, int status) => _requests.AddOrUpdate((route, status), 1, static (_, n) => n + 1);

    public void RecordGeneration(int promptTokens, int generatedTokens, TimeSpan promptTime, TimeSpan generationTime)
    {
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Add(ref _generatedTokens, generatedTokens);
        Interlocked.Add(ref _promptTicks, promptTime.Ticks);
        Interlocked.Add(ref _generationTicks, generationTime.Ticks);
        _timeToFirstToken.Observe(promptTime.TotalSeconds);
        _requestLatency.Observe((promptTime + generationTime).TotalSeconds);
    }

    public void RecordCancelled() => Interlocked.Increment(ref _cancelled);

    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    public string Render(IChatBackend backend, int admitted)
    {
        var text = new StringBuilder();
        Header(text, "kimi_requests_total", "counter", "HTTP requests by route and status code.");
        foreach (var ((route, status), count) in _requests.OrderBy(p => p.Key.Route, StringComparer.Ordinal).ThenBy(p => p.Key.Status))
            text.Append(CultureInfo.InvariantCulture, $"kimi_requests_total{{route=\"{Escape(route)}\",status=\"{status}\"}} {count}\n");

        double generationSeconds = TimeSpan.FromTicks(Interlocked.Read(ref _generationTicks)).TotalSeconds;
        double promptSeconds = TimeSpan.FromTicks(Interlocked.Read(ref _promptTicks)).TotalSeconds;
        Metric(text, "kimi_prompt_tokens_total", "counter", "Prompt tokens processed.", PromptTokens);
        Metric(text, "kimi_generated_tokens_total", "counter", "Tokens generated.", GeneratedTokens);
        Metric(text, "kimi_prompt_seconds_total", "counter", "Time spent on prompts (until the first token).", promptSeconds);
        Metric(text, "kimi_generation_seconds_total", "counter", "Time spent generating after the first token.", generationSeconds);
        Metric(text, "kimi_generated_tokens_per_second", "gauge", "Average generation speed over all requests.",
            generationSeconds > 0 ? GeneratedTokens / generationSeconds : 0);
        Metric(text, "kimi_prompt_tokens_per_second", "gauge", "Average prompt speed over all requests.",
            promptSeconds > 0 ? PromptTokens / promptSeconds : 0);
        Metric(text, "kimi_requests_cancelled_total", "counter", "Generations stopped because the client went away.", Interlocked.Read(ref _cancelled));
        Metric(text, "kimi_queue_depth", "gauge", "Requests waiting for the engine.", backend.QueueDepth);
        Metric(text, "kimi_requests_in_flight", "gauge", "Requests the engine is generating for.", backend.InFlight);
        Metric(text, "kimi_requests_admitted", "gauge", "Generation requests admitted by the server (running or waiting).", admitted);
        Metric(text, "kimi_model_loaded", "gauge", "1 once the model is ready.", backend.State == BackendState.Ready ? 1 : 0);
        if (backend is IEngineStatsSource { EngineStats: { } stats })
            RenderEngine(text, stats, backend.Model.Id);
        return text.ToString();
    }

    /// <summary>The engine's batching and cache state: kimi_* names, then vLLM's.</summary>
    private void RenderEngine(StringBuilder text, Engine.EngineStats stats, string model)
    {
        Metric(text, "kimi_kv_blocks_total", "gauge", "KV blocks the memory budget allows.", stats.KvBlocksTotal);
        Metric(text, "kimi_kv_block_tokens", "gauge", "Tokens per KV block.", stats.KvBlockTokens);
        Metric(text, "kimi_kv_blocks_sequences", "gauge", "KV blocks used by running sequences (0 when idle).", stats.KvBlocksSequences);
        Metric(text, "kimi_kv_blocks_cached", "gauge", "KV blocks kept only by the prefix cache.", stats.KvBlocksCached);
        Metric(text, "kimi_kv_blocks_allocated", "gauge", "KV blocks whose memory is allocated (high-water mark).", stats.KvBlocksAllocated);
        Metric(text, "kimi_prefix_cache_query_tokens_total", "counter", "Prompt tokens looked up in the prefix cache.", stats.PrefixQueryTokens);
        Metric(text, "kimi_prefix_cache_hit_tokens_total", "counter", "Prompt tokens found in the prefix cache.", stats.PrefixHitTokens);
        Metric(text, "kimi_prefix_cache_disk_hit_tokens_total", "counter", "Prompt tokens read back from the persistent prefix cache.", stats.PrefixDiskHitTokens);
        Metric(text, "kimi_preemptions_total", "counter", "Sequences paused because KV memory ran out.", stats.Preemptions);
        Metric(text, "kimi_engine_steps_total", "counter", "Batched forward passes run.", stats.Steps);
        Metric(text, "kimi_engine_step_tokens_total", "counter", "Tokens those passes held.", stats.StepTokens);

        string label = $"model_name=\"{Escape(model)}\"";
        Labelled(text, "vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", label, stats.ActiveSequences);
        Labelled(text, "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", label, stats.QueueDepth);
        Labelled(text, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", label, stats.KvCacheUsage);
        Labelled(text, "vllm:gpu_cache_usage_perc", "gauge", "KV-cache usage (the pre-v1 name). 1 means 100 percent usage.", label, stats.KvCacheUsage);
        Labelled(text, "vllm:prefix_cache_queries", "counter", "Prefix cache queries, in terms of number of queried tokens.", label, stats.PrefixQueryTokens);
        Labelled(text, "vllm:prefix_cache_hits", "counter", "Prefix cache hits, in terms of number of cached tokens.", label, stats.PrefixHitTokens);
        Labelled(text, "vllm:gpu_prefix_cache_hit_rate", "gauge", "Prefix cache hit rate (the pre-v1 gauge).", label,
            stats.PrefixQueryTokens > 0 ? (double)stats.PrefixHitTokens / stats.PrefixQueryTokens : 0);
        Labelled(text, "vllm:num_preemptions", "counter", "Cumulative number of preemptions.", label, stats.Preemptions);
        Labelled(text, "vllm:prompt_tokens", "counter", "Number of prefill tokens processed.", label, stats.PromptTokens);
        Labelled(text, "vllm:generation_tokens", "counter", "Number of generation tokens processed.", label, stats.GeneratedTokens);
        Labelled(text, "vllm:request_success", "counter", "Count of finished requests.", label, stats.CompletedRequests);
        Header(text, "vllm:cache_config_info", "gauge", "Information of the KV cache configuration.");
        text.Append(CultureInfo.InvariantCulture,
            $"vllm:cache_config_info{{block_size=\"{stats.KvBlockTokens}\",num_gpu_blocks=\"{stats.KvBlocksTotal}\",enable_prefix_caching=\"True\",{label}}} 1\n");
        _timeToFirstToken.Render(text, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", label);
        _requestLatency.Render(text, "vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", label);
    }

    /// <summary>One labelled sample; counters get the <c>_total</c> suffix, as prometheus_client writes vLLM's in the text format.</summary>
    private static void Labelled(StringBuilder text, string name, string type, string help, string labels, double value)
    {
        if (type == "counter") name += "_total";
        Header(text, name, type, help);
        text.Append(name).Append('{').Append(labels).Append("} ")
            .Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
    }

    /// <summary>A cumulative Prometheus histogram over fixed buckets, updated without locks.</summary>
    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _counts = new long[bounds.Length + 1];
        private long _sumMicros;

        public void Observe(double value)
        {
            int i = 0;
            while (i < bounds.Length && value > bounds[i]) i++;
            Interlocked.Increment(ref _counts[i]);
            Interlocked.Add(ref _sumMicros, (long)(value * 1e6));
        }

        public void Render(StringBuilder text, string name, string help, string labels)
        {
            Header(text, name, "histogram", help);
            long cumulative = 0;
            for (int i = 0; i <= bounds.Length; i++)
            {
                cumulative += Interlocked.Read(ref _counts[i]);
                string le = i < bounds.Length ? bounds[i].ToString("R", CultureInfo.InvariantCulture) : "+Inf";
                text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{le=\"{le}\",{labels}}} {cumulative}\n");
            }
            text.Append(CultureInfo.InvariantCulture, $"{name}_count{{{labels}}} {cumulative}\n");
            text.Append(CultureInfo.InvariantCulture, $"{name}_sum{{{labels}}} {(Interlocked.Read(ref _sumMicros) / 1e6).ToString("R", CultureInfo.InvariantCulture)}\n");
        }
    }

    private static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");

    private static void Metric(StringBuilder text, string name, string type, string help, double value)
    {
        Header(text, name, type, help);
        text.Append(name).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
    }

    private static string Escape(string label) => label.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
