using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace KimiSharp.Hub;

/// <summary>
/// Talks to a Hugging Face hub: lists a repository's files (with LFS SHA-256) and opens file downloads,
/// optionally from a byte offset (HTTP Range). Honours HF_TOKEN and HF_ENDPOINT through <see cref="FromEnvironment"/>.
/// </summary>
public sealed class HubClient
{
    public const string DefaultEndpoint = "https://huggingface.co";
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string? _token;

    public HubClient(HttpClient http, string endpoint, string? token)
    {
        _http = http;
        _endpoint = new Uri(endpoint.TrimEnd('/') + "/");
        _token = string.IsNullOrWhiteSpace(token) ? null : token.Trim();
    }

    /// <summary>Endpoint from HF_ENDPOINT (default huggingface.co), token from HF_TOKEN.</summary>
    public static HubClient FromEnvironment(HttpClient http) =>
        new(http, Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } e ? e : DefaultEndpoint,
            Environment.GetEnvironmentVariable("HF_TOKEN"));

    public Uri Endpoint => _endpoint;

    /// <summary>Every file of the repository at <paramref name="revision"/> (follows Link: rel="next" pages).</summary>
    public async Task<IReadOnlyList<HubFile>> ListFilesAsync(string repo, string revision = "main", CancellationToken ct = default)
    {
        ValidateRepo(repo);
        var files = new List<HubFile>();
        Uri? url = new(_endpoint, $"api/models/{repo}/tree/{Uri.EscapeDataString(revision)}?recursive=true");
        while (url is not null)
        {
            using var request = NewRequest(url);
            HttpResponseMessage sent;
            try
            {
                sent = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            }
            catch (HttpRequestException e)
            {
                throw new HubException($"cannot reach the hub at {_endpoint} ({e.Message}); check the network or HF_ENDPOINT", e);
            }
            using var response = sent;
            EnsureSuccess(response, $"listing {repo}");
            List<HubTreeEntry>? entries;
            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                entries = await JsonSerializer.DeserializeAsync(body, HubJsonContext.Default.ListHubTreeEntry, ct);
            }
            catch (JsonException e)
            {
                throw new HubException($"the hub's file listing for {repo} is not valid JSON: {e.Message}", e);
            }
            foreach (var entry in entries ?? [])
            {
                if (entry.Type != "file" || string.IsNullOrEmpty(entry.Path)) continue;
                string? sha = entry.Lfs?.Oid is { Length: 64 } oid ? oid.ToLowerInvariant() : null;
                files.Add(new HubFile(entry.Path, entry.Lfs?.Size is > 0 and var s ? s : entry.Size, sha));
            }
            url = NextPage(response);
        }
        return files;
    }

    /// <summary>URL of a file's content: {endpoint}/{repo}/resolve/{revision}/{path}.</summary>
    public Uri ResolveUrl(string repo, string path, string revision = "main") =>
        new(_endpoint, $"{repo}/resolve/{Uri.EscapeDataString(revision)}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>Opens a download from <paramref name="offset"/>; the caller checks whether the server honoured the range (206).</summary>
    public async Task<HttpResponseMessage> OpenAsync(Uri url, long offset, CancellationToken ct)
    {
        var request = NewRequest(url);
        if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable) return response;
        try
        {
            EnsureSuccess(response, url.AbsolutePath);
        }
        catch
        {
            response.Dispose();
            throw;
        }
        return response;
    }

    private HttpRequestMessage NewRequest(Uri url)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (_token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        request.Headers.UserAgent.ParseAdd("kimisharp/0.1");
        return request;
    }

    private void EnsureSuccess(HttpResponseMessage response, string what)
    {
        if (response.IsSuccessStatusCode) return;
        string hint = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => _token is null
                ? " (the repository may be gated or private: set HF_TOKEN)"
                : " (check that HF_TOKEN has access to this repository)",
            HttpStatusCode.NotFound => " (check the repository name)",
            _ => "",
        };
        throw new HubException($"{what}: the hub answered {(int)response.StatusCode} {response.ReasonPhrase}{hint}");
    }

    private static Uri? NextPage(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var links)) return null;
        foreach (var header in links)
        {
            foreach (var part in header.Split(','))
            {
                var pieces = part.Split(';');
                if (pieces.Length < 2 || !pieces.Skip(1).Any(p => p.Trim().Replace(" ", "") is "rel=\"next\"" or "rel=next")) continue;
                var target = pieces[0].Trim().TrimStart('<').TrimEnd('>');
                if (Uri.TryCreate(response.RequestMessage?.RequestUri, target, out var next)) return next;
            }
        }
        return null;
    }

    internal static void ValidateRepo(string repo)
    {
        var parts = repo.Split('/');
        if (parts.Length != 2 || parts.Any(p => p.Length == 0 || p is "." or ".." || p.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
            throw new ArgumentException($"'{repo}' is not a hub repository name (expected OWNER/NAME, e.g. unsloth/Kimi-K2-Instruct-0905-GGUF)");
    }
}
