namespace KimiSharp.Server.Hosting;

/// <summary>The kinds of failure a client can see; each API names and codes them its own way.</summary>
public enum ApiErrorKind
{
    InvalidRequest,
    Authentication,
    NotFound,
    MethodNotAllowed,
    RequestTooLarge,
    RateLimited,
    Unavailable,
    Internal,
}

/// <summary>
/// A request the server refuses. <see cref="Param"/> names the offending field in OpenAI's path style
/// (<c>messages[0].role</c>); <see cref="Code"/> is an optional machine-readable code.
/// </summary>
public sealed class ApiException(ApiErrorKind kind, string message, string? param = null, string? code = null) : Exception(message)
{
    public ApiErrorKind Kind { get; } = kind;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    public int StatusCode => Kind switch
    {
        ApiErrorKind.InvalidRequest => 400,
        ApiErrorKind.Authentication => 401,
        ApiErrorKind.NotFound => 404,
        ApiErrorKind.MethodNotAllowed => 405,
        ApiErrorKind.RequestTooLarge => 413,
        ApiErrorKind.RateLimited => 429,
        ApiErrorKind.Unavailable => 503,
        _ => 500,
    };

    public static ApiException Invalid(string param, string message) => new(ApiErrorKind.InvalidRequest, $"{param}: {message}", param);
}
