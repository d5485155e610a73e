using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using KimiSharp.Server.Hosting;
using KimiSharp.Server.Tests.Support;

namespace KimiSharp.Server.Tests.WebUi;

/// <summary>How the server hands out the chat page and its embedded assets (no browser needed).</summary>
public sealed class ChatPageHttpTests(ServerFixture server) : IClassFixture<ServerFixture>, IDisposable
{
    private readonly HttpClient _anonymous = new() { BaseAddress = server.BaseAddress };

    public void Dispose() => _anonymous.Dispose();

    [Fact]
    public async Task Root_serves_the_page_without_a_key_with_csp_and_revalidation()
    {
        using var response = await _anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType.CharSet);
        Assert.True(response.Headers.CacheControl!.NoCache);
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        var html = await response.Content.ReadAsStringAsync();
        foreach (var hook in new[] { "<textarea id=\"prompt\"", "<button id=\"send\"", "<button id=\"stop\"" })
            Assert.Contains(hook, html);

        using var again = new HttpRequestMessage(HttpMethod.Get, "/");
        again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        using var notModified = await _anonymous.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("app.js", "text/javascript")]
    [InlineData("markdown.js", "text/javascript")]
    [InlineData("style.css", "text/css")]
    [InlineData("favicon.svg", "image/svg+xml")]
    public async Task Page_links_each_asset_by_content_version_which_is_cached_as_immutable(string name, string mediaType)
    {
        var html = await _anonymous.GetStringAsync("/");
        var link = Regex.Match(html, $"\"(webui/{Regex.Escape(name)}\\?v=([0-9a-f]{{16}}))\"");
        Assert.True(link.Success, $"index.html does not link webui/{name}?v=VERSION");

        using var versioned = await _anonymous.GetAsync("/" + link.Groups[1].Value);
        Assert.Equal(HttpStatusCode.OK, versioned.StatusCode);
        Assert.Equal(mediaType, versioned.Content.Headers.ContentType!.MediaType);
        Assert.Equal(TimeSpan.FromDays(365), versioned.Headers.CacheControl!.MaxAge);
        Assert.Contains("immutable", versioned.Headers.CacheControl.Extensions.Select(e => e.Name));
        Assert.Equal($"\"{link.Groups[2].Value}\"", versioned.Headers.ETag!.Tag);
        var content = await versioned.Content.ReadAsByteArrayAsync();
        Assert.Equal(link.Groups[2].Value, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content))[..16]);

        using var unversioned = await _anonymous.GetAsync($"/webui/{name}");
        Assert.True(unversioned.Headers.CacheControl!.NoCache); // an old or missing version is revalidated, not pinned
        Assert.Equal(content, await unversioned.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Page_and_assets_reference_no_other_origin()
    {
        var html = await _anonymous.GetStringAsync("/");
        Assert.DoesNotMatch(@"(src|href)=""(https?:)?//", html);
        foreach (Match link in Regex.Matches(html, @"(?:src|href)=""([^""]+)"""))
            Assert.StartsWith("webui/", link.Groups[1].Value);
        var css = await _anonymous.GetStringAsync("/webui/style.css");
        Assert.DoesNotMatch(@"url\(|@import", css);
        foreach (var script in new[] { "app.js", "markdown.js" })
            Assert.DoesNotMatch(@"fetch\(\s*['""`]https?:|import\s|importScripts", await _anonymous.GetStringAsync($"/webui/{script}"));
    }

    [Fact]
    public async Task Unknown_asset_is_a_json_404_and_the_api_still_needs_the_key()
    {
        using var missing = await _anonymous.GetAsync("/webui/nope.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/json", missing.Content.Headers.ContentType!.MediaType);

        using var models = await _anonymous.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        using var keyed = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", ServerFixture.ApiKey) } };
        using var allowed = await _anonymous.SendAsync(keyed);
        Assert.Equal("kimi-test", JsonDocument.Parse(await allowed.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("id").GetString());

        using var post = await _anonymous.PostAsync("/", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
    }

    [Fact]
    public async Task No_webui_option_leaves_root_unrouted()
    {
        await using var bare = await KimiServer.StartAsync(new ScriptedChatBackend(), new ServerOptions { Port = 0, WebUi = false });
        using var http = new HttpClient { BaseAddress = bare.BaseAddress };
        using var root = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.NotFound, root.StatusCode);
        Assert.Equal("application/json", root.Content.Headers.ContentType!.MediaType);
        using var asset = await http.GetAsync("/webui/app.js");
        Assert.Equal(HttpStatusCode.NotFound, asset.StatusCode);
    }
}
