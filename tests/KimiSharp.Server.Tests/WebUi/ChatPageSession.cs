using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace KimiSharp.Server.Tests.WebUi;

/// <summary>
/// The chat page open in a fresh browser context (its own localStorage) against one server, recording every
/// request the page makes and every console error, so tests can check the page stays on its own origin
/// (no CDN: it works offline) and runs without script errors or CSP violations.
/// </summary>
internal sealed class ChatPageSession : IAsyncDisposable
{
    /// <summary>Bounds for waits on a loaded two-core host; never a fixed sleep.</summary>
    public const float WaitMs = 60_000;

    private readonly Uri _origin;

    private ChatPageSession(IBrowserContext context, IPage page, Uri origin)
    {
        Context = context;
        Page = page;
        _origin = origin;
        page.Request += (_, request) => Requests.Add(request.Url);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
                ConsoleErrors.Add(message.Text);
        };
        page.PageError += (_, error) => ConsoleErrors.Add(error);
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public List<string> Requests { get; } = [];

    public List<string> ConsoleErrors { get; } = [];

    /// <summary>Every message element of the open conversation, in order.</summary>
    public ILocator Messages => Page.Locator("#messages [data-role]");

    public ILocator LastAssistant => Page.Locator("#messages [data-role=assistant]").Last;

    /// <summary>Opens / in a new context; with <paramref name="apiKey"/> the page starts with that key saved.</summary>
    public static async Task<ChatPageSession> OpenAsync(IBrowser browser, Uri origin, string? apiKey = null)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = origin.ToString() });
        context.SetDefaultTimeout(WaitMs);
        if (apiKey is not null)
            await context.AddInitScriptAsync($"localStorage.getItem('kimi.apiKey') || localStorage.setItem('kimi.apiKey', {JsonSerializer.Serialize(JsonSerializer.Serialize(apiKey))});");
        var session = new ChatPageSession(context, await context.NewPageAsync(), origin);
        var response = await session.Page.GotoAsync("/");
        Assert.Equal(200, response!.Status);
        return session;
    }

    public async Task SendAsync(string text)
    {
        await Page.FillAsync("textarea#prompt", text);
        await Page.ClickAsync("button#send");
    }

    public Task WaitForStateAsync(ILocator message, string state) =>
        Expect(message).ToHaveAttributeAsync("data-state", state, new LocatorAssertionsToHaveAttributeOptions { Timeout = WaitMs });

    /// <summary>The length of the last answer's text once it is longer than <paramref name="than"/>.</summary>
    public async Task<int> WaitForAnswerLongerThanAsync(int than)
    {
        var handle = await Page.WaitForFunctionAsync(
            "n => { const b = [...document.querySelectorAll('#messages [data-role=assistant] .body')].at(-1); return b && b.textContent.length > n ? b.textContent.length : false; }",
            than, new PageWaitForFunctionOptions { Timeout = WaitMs });
        return await handle.JsonValueAsync<int>();
    }

    public async Task SaveSettingsAsync(double temperature, int maxTokens)
    {
        await Page.ClickAsync("#open-settings");
        await Page.FillAsync("#temperature", temperature.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Page.FillAsync("#max-tokens", maxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Page.ClickAsync("#settings-save");
        await Expect(Page.Locator("#settings")).Not.ToBeVisibleAsync();
    }

    /// <summary>Every request went to the server's own origin, and the page logged no error but <paramref name="allowed"/>.</summary>
    public void AssertSelfContained(params string[] allowed)
    {
        Assert.NotEmpty(Requests);
        Assert.All(Requests, url => Assert.StartsWith(_origin.GetLeftPart(UriPartial.Authority) + "/", url));
        Assert.DoesNotContain(ConsoleErrors, e => !allowed.Any(e.Contains));
    }

    public async ValueTask DisposeAsync() => await Context.DisposeAsync();
}
