using KimiSharp.Server.Backend;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace KimiSharp.Server.Hosting;

/// <summary>
/// The outermost layer around every request: counts it for /metrics, checks the API key, and turns every
/// failure — thrown or a bare 404/405 from routing — into the error JSON of the route's API. Clients never
/// see a stack trace.
/// </summary>
internal sealed class ApiMiddleware(RequestDelegate next, ApiKeyCheck keyCheck, ServerMetrics metrics, ILogger<ApiMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var flavor = ApiFlavors.ForPath(context.Request.Path);
        try
        {
            if (!IsPublic(context.Request.Path) && keyCheck.Check(context.Request) is string refusal)
                throw new ApiException(ApiErrorKind.Authentication, refusal);

            await next(context);

            if (!context.Response.HasStarted && context.Response.ContentType is null)
            {
                if (context.Response.StatusCode == StatusCodes.Status404NotFound)
                    throw new ApiException(ApiErrorKind.NotFound, $"no route for {context.Request.Method} {context.Request.Path}");
                if (context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed)
                    throw new ApiException(ApiErrorKind.MethodNotAllowed, $"{context.Request.Method} is not allowed on {context.Request.Path}");
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await FailAsync(context, e, flavor);
        }
        finally
        {
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } pattern ? (pattern == "/" ? pattern : pattern.TrimEnd('/')) : "unmatched";
            metrics.RecordRequest(route, context.RequestAborted.IsCancellationRequested && context.Response.HasStarted ? 499 : context.Response.StatusCode);
        }
    }

    /// <summary>/health, and the chat page with its assets (it asks for the key itself when the API answers 401).</summary>
    private static bool IsPublic(PathString path) => path.StartsWithSegments("/health") || WebUi.WebUiEndpoints.IsPagePath(path);

    private async Task FailAsync(HttpContext context, Exception e, ApiFlavor flavor)
    {
        if (e is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
            return; // the client left; nobody is listening
        var error = ToApiException(e);
        if (error.Kind == ApiErrorKind.Internal)
            logger.LogError(e, "request {Method} {Path} failed", context.Request.Method, context.Request.Path);
        if (context.Response.HasStarted)
        {
            context.Abort(); // a half-written body cannot become an error status any more
            return;
        }

        context.Response.Clear();
        await ErrorResponses.WriteAsync(context, error, flavor);
    }

    internal static ApiException ToApiException(Exception e) => e switch
    {
        ApiException api => api,
        ContextOverflowException overflow => new ApiException(ApiErrorKind.InvalidRequest,
            $"messages: the prompt has {overflow.PromptTokens} tokens but the context holds {overflow.ContextLength}; shorten the conversation",
            "messages", "context_length_exceeded"),
        QueueFullException full => new ApiException(ApiErrorKind.RateLimited, full.Message),
        BackendUnavailableException unavailable => new ApiException(ApiErrorKind.Unavailable, unavailable.Message),
        BadHttpRequestException bad when bad.StatusCode == StatusCodes.Status413PayloadTooLarge =>
            new ApiException(ApiErrorKind.RequestTooLarge, "the request body is larger than the server's limit"),
        BadHttpRequestException bad => new ApiException(ApiErrorKind.InvalidRequest, bad.Message),
        _ => new ApiException(ApiErrorKind.Internal, "internal server error"),
    };
}
