using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace KimiSharp.Server.WebUi;

/// <summary>
/// The chat page: <c>GET /</c> serves index.html and <c>GET /webui/NAME</c> its script, styles and icon, all
/// embedded in this assembly (no CDN, works offline). The page links its assets as <c>webui/NAME?v=VERSION</c>
/// (a hash of the content), so those answers are cached for a year as immutable, while the page itself is
/// revalidated every time (<c>no-cache</c> + ETag → 304). The page and its assets need no API key: the page
/// asks for one when the API answers 401.
/// </summary>
public static class WebUiEndpoints
{
    /// <summary>The files under /webui/, as embedded (see the project file).</summary>
    private static readonly string[] AssetNames = ["app.js", "markdown.js", "style.css", "favicon.svg"];

    /// <summary>Scripts and styles from this origin only, API calls to this origin only, no frames, no plugins.</summary>
    internal const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private const string Immutable = "public, max-age=31536000, immutable";

    /// <summary>True for the page and its assets, which are served without an API key.</summary>
    public static bool IsPagePath(PathString path) => path == "/" || path.StartsWithSegments("/webui");

    public static IEndpointRouteBuilder MapWebUi(this IEndpointRouteBuilder routes)
    {
        var assets = AssetNames.Select(WebAsset.Embedded).ToDictionary(a => a.Name, StringComparer.Ordinal);
        var page = WebAsset.Embedded("index.html").WithVersionedLinks(assets.Values);
        string[] methods = [HttpMethods.Get, HttpMethods.Head];

        routes.MapMethods("/", methods, (HttpContext context) => Serve(context, page, cacheControl: "no-cache"));
        routes.MapMethods("/webui/{name}", methods, (HttpContext context, string name) =>
            assets.TryGetValue(name, out var asset)
                ? Serve(context, asset, context.Request.Query["v"] == asset.Version ? Immutable : "no-cache")
                : Results.NotFound());
        return routes;
    }

    private static IResult Serve(HttpContext context, WebAsset asset, string cacheControl)
    {
        var headers = context.Response.Headers;
        headers.ETag = asset.ETag;
        headers.CacheControl = cacheControl;
        headers.XContentTypeOptions = "nosniff";
        if (asset.ContentType.StartsWith("text/html", StringComparison.Ordinal))
        {
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers[HeaderNames.XFrameOptions] = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
        }

        if (context.Request.Headers.IfNoneMatch.Any(value => value is not null && value.Split(',').Any(tag => tag.Trim() is var t && (t == asset.ETag || t == "*"))))
            return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Content, asset.ContentType);
    }
}
