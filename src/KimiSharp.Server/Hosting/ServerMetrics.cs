using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using KimiSharp.Server.Backend;

namespace KimiSharp.Server.Hosting;

/// <summary>Counters behind GET /metrics, rendered in the Prometheus text exposition format.</summary>
public sealed class ServerMetrics
{
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
        return text.ToString();
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
