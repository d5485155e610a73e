using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace KimiSharp.Server.Hosting;

/// <summary>Writes application/x-ndjson: one JSON object per line, flushed as it is written (Ollama's streaming format).</summary>
public sealed class NdjsonStream
{
    private readonly HttpResponse _response;
    private readonly CancellationToken _aborted;

    private NdjsonStream(HttpResponse response, CancellationToken aborted)
    {
        _response = response;
        _aborted = aborted;
    }

    public static async Task<NdjsonStream> StartAsync(HttpContext context)
    {
        await ServerSentEvents.StartStreamingAsync(context, "application/x-ndjson");
        return new NdjsonStream(context.Response, context.RequestAborted);
    }

    public async Task WriteAsync<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        var body = _response.BodyWriter;
        body.Write(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));
        body.Write("\n"u8);
        await body.FlushAsync(_aborted);
    }
}
