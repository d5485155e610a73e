using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;

namespace KimiSharp.Server.Hosting;

/// <summary>
/// Reads a JSON request body under the configured size limit and deserializes it, turning every
/// failure into an <see cref="ApiException"/>: 413 for oversized bodies, 400 naming the position of a
/// syntax error (truncated JSON, invalid UTF-8) or the field whose value has the wrong type.
/// </summary>
public static class RequestBody
{
    public static async Task<T> ReadJsonAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo, long maxBytes)
        where T : class
    {
        var bytes = await ReadBytesAsync(context, maxBytes);
        if (bytes.Length == 0)
            throw new ApiException(ApiErrorKind.InvalidRequest, "the request body is empty; expected a JSON object");
        CheckSyntax(bytes);
        try
        {
            return JsonSerializer.Deserialize(bytes, typeInfo)
                ?? throw new ApiException(ApiErrorKind.InvalidRequest, "the request body must be a JSON object, not null");
        }
        catch (InvalidOperationException)
        {
            throw new ApiException(ApiErrorKind.InvalidRequest, "the request body contains a string that is not valid Unicode");
        }
        catch (JsonException e)
        {
            var param = FieldOf(e.Path);
            throw param.Length == 0
                ? new ApiException(ApiErrorKind.InvalidRequest, "the request body must be a JSON object")
                : ApiException.Invalid(param, "has the wrong type or a value out of range");
        }
    }

    /// <summary>Reads the whole body, refusing more than <paramref name="maxBytes"/> with 413.</summary>
    public static async Task<byte[]> ReadBytesAsync(HttpContext context, long maxBytes)
    {
        if (context.Request.ContentLength is long declared && declared > maxBytes)
            throw TooLarge(maxBytes);
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
            sizeFeature.MaxRequestBodySize = maxBytes + 1;

        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (true)
            {
                var memory = buffer.GetMemory(16 * 1024);
                int read = await context.Request.Body.ReadAsync(memory, context.RequestAborted);
                if (read == 0)
                    break;
                buffer.Advance(read);
                if (buffer.WrittenCount > maxBytes)
                    throw TooLarge(maxBytes);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(maxBytes);
        }
        catch (BadHttpRequestException e)
        {
            throw new ApiException(ApiErrorKind.InvalidRequest, $"the request body could not be read: {e.Message}");
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static ApiException TooLarge(long maxBytes) =>
        new(ApiErrorKind.RequestTooLarge, $"the request body is larger than the server's limit of {maxBytes} bytes");

    /// <summary>Walks the whole document once so syntax errors (and invalid UTF-8) are reported as such, with a position.</summary>
    private static void CheckSyntax(byte[] bytes)
    {
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
            throw new ApiException(ApiErrorKind.InvalidRequest, "the request body is not valid UTF-8");
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            if (!reader.Read())
                throw new ApiException(ApiErrorKind.InvalidRequest, "the request body is empty; expected a JSON object");
            if (reader.TokenType != JsonTokenType.StartObject)
                throw new ApiException(ApiErrorKind.InvalidRequest, "the request body must be a JSON object");
            reader.Skip();
            if (reader.Read())
                throw new ApiException(ApiErrorKind.InvalidRequest, "the request body has data after the JSON object");
        }
        catch (JsonException e)
        {
            long line = (e.LineNumber ?? 0) + 1, column = (e.BytePositionInLine ?? 0) + 1;
            throw new ApiException(ApiErrorKind.InvalidRequest, $"the request body is not valid JSON (line {line}, byte {column})");
        }
    }

    /// <summary>"$.messages[0].role" → "messages[0].role".</summary>
    internal static string FieldOf(string? jsonPath)
    {
        if (string.IsNullOrEmpty(jsonPath) || jsonPath == "$")
            return "";
        return jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');
    }
}
