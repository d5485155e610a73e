using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;

namespace KimiSharp.Server.Hosting;

/// <summary>Writes text/event-stream frames (<c>event: NAME</c> optional, <c>data: JSON</c>, blank line), flushing each.</summary>
public sealed class ServerSentEvents
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventPrefix = "event: "u8.ToArray();
    private static readonly byte[] FrameEnd = "\n\n"u8.ToArray();
    private readonly HttpResponse _response;
    private readonly CancellationToken _aborted;

    private ServerSentEvents(HttpResponse response, CancellationToken aborted)
    {
        _response = response;
        _aborted = aborted;
    }

    public static async Task<ServerSentEvents> StartAsync(HttpContext context)
    {
        await StartStreamingAsync(context, "text/event-stream; charset=utf-8");
        return new ServerSentEvents(context.Response, context.RequestAborted);
    }

    /// <summary>Sends a 200 with <paramref name="contentType"/> at once, unbuffered and uncached, for a body written piece by piece.</summary>
    internal static async Task StartStreamingAsync(HttpContext context, string contentType)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = contentType;
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(context.RequestAborted);
    }

    public Task WriteAsync<T>(T value, JsonTypeInfo<T> typeInfo, string? eventName = null) =>
        WriteRawAsync(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo), eventName);

    public async Task WriteRawAsync(byte[] data, string? eventName = null)
    {
        var body = _response.BodyWriter;
        if (eventName is not null)
        {
            body.Write(EventPrefix);
            body.Write(Encoding.UTF8.GetBytes(eventName));
            body.Write("\n"u8);
        }

        body.Write(DataPrefix);
        body.Write(data);
        body.Write(FrameEnd);
        await body.FlushAsync(_aborted);
    }
}
