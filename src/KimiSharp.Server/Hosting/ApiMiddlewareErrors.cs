namespace KimiSharp.Server.Hosting;

/// <summary>Maps any exception to the API error a client may see (used where the middleware cannot, mid-stream).</summary>
public static class ApiMiddlewareErrors
{
    public static ApiException From(Exception e) => ApiMiddleware.ToApiException(e);
}
