using KimiSharp.Server.Anthropic;
using KimiSharp.Server.Ollama;
using KimiSharp.Server.OpenAi;

namespace KimiSharp.Server.Hosting;

/// <summary>Writes an <see cref="ApiException"/> as the error JSON of the API the route belongs to.</summary>
public static class ErrorResponses
{
    public static Task WriteAsync(HttpContext context, ApiException error, ApiFlavor flavor)
    {
        var response = context.Response;
        response.StatusCode = error.StatusCode;
        response.ContentType = "application/json";
        if (error.Kind == ApiErrorKind.RateLimited || error.Kind == ApiErrorKind.Unavailable)
            response.Headers.RetryAfter = "1";
        return flavor switch
        {
            ApiFlavor.Anthropic => response.WriteAsJsonAsync(ToAnthropic(error), AnthropicJsonContext.Default.AnthropicErrorBody, contentType: "application/json", context.RequestAborted),
            ApiFlavor.Ollama => response.WriteAsJsonAsync(ToOllama(error), OllamaJsonContext.Default.OllamaErrorBody, contentType: "application/json", context.RequestAborted),
            _ => response.WriteAsJsonAsync(ToOpenAi(error), OpenAiJsonContext.Default.OpenAiErrorBody, contentType: "application/json", context.RequestAborted),
        };
    }

    /// <summary>Ollama's errors are <c>{"error": "message"}</c>; the status code says the kind.</summary>
    public static OllamaErrorBody ToOllama(ApiException error) => new(error.Message);

    public static OpenAiErrorBody ToOpenAi(ApiException error) => new(new OpenAiError(
        error.Message,
        error.Kind switch
        {
            ApiErrorKind.InvalidRequest or ApiErrorKind.MethodNotAllowed or ApiErrorKind.RequestTooLarge => "invalid_request_error",
            ApiErrorKind.Authentication => "authentication_error",
            ApiErrorKind.NotFound => "not_found_error",
            ApiErrorKind.RateLimited => "rate_limit_error",
            ApiErrorKind.Unavailable => "unavailable_error",
            _ => "server_error",
        },
        error.Param,
        error.Code ?? error.Kind switch
        {
            ApiErrorKind.Authentication => "invalid_api_key",
            ApiErrorKind.MethodNotAllowed => "method_not_allowed",
            ApiErrorKind.RequestTooLarge => "request_too_large",
            ApiErrorKind.RateLimited => "rate_limit_exceeded",
            _ => null,
        }));

    public static AnthropicErrorBody ToAnthropic(ApiException error) => new(new AnthropicError(
        error.Kind switch
        {
            ApiErrorKind.InvalidRequest or ApiErrorKind.MethodNotAllowed => "invalid_request_error",
            ApiErrorKind.Authentication => "authentication_error",
            ApiErrorKind.NotFound => "not_found_error",
            ApiErrorKind.RequestTooLarge => "request_too_large",
            ApiErrorKind.RateLimited => "rate_limit_error",
            ApiErrorKind.Unavailable => "overloaded_error",
            _ => "api_error",
        },
        error.Message));
}
