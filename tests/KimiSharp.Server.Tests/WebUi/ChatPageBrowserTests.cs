using KimiSharp.Server.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace KimiSharp.Server.Tests.WebUi;

/// <summary>
/// The chat page in headless Chromium against a real server whose model is scripted (<see cref="ScriptedChatBackend"/>:
/// <c>forever</c> streams until cancelled, <c>echo:TEXT</c> answers TEXT, <c>call:NAME JSON</c> calls a tool), with an API key.
/// </summary>
[Collection("chromium")]
public sealed class ChatPageBrowserTests(ChromiumFixture chromium, ServerFixture server) : IClassFixture<ServerFixture>
{
    private readonly ServerFixture _server = server;

    [SkippableFact]
    public async Task Chat_page_streams_stops_and_finds_the_conversation_after_reload_when_answer_is_long()
    {
        var browser = chromium.Require();
        _server.Backend.ResetForever();
        await using var session = await ChatPageSession.OpenAsync(browser, _server.BaseAddress, ServerFixture.ApiKey);
        await Expect(session.Page.Locator("#model")).ToContainTextAsync("context 2048");
        await session.SaveSettingsAsync(temperature: 0.6, maxTokens: 100_000); // more than the context: sent as the context length

        await session.SendAsync("forever");
        await Expect(session.Messages.First).ToHaveAttributeAsync("data-role", "user");
        await Expect(session.Messages.First).ToHaveTextAsync("forever");
        await session.WaitForStateAsync(session.LastAssistant, "streaming");
        int first = await session.WaitForAnswerLongerThanAsync(0);
        int later = await session.WaitForAnswerLongerThanAsync(first); // the text grows while it streams
        Assert.True(later > first);
        await Expect(session.Page.Locator("button#send")).Not.ToBeVisibleAsync();

        await session.Page.ClickAsync("button#stop");
        await session.WaitForStateAsync(session.LastAssistant, "stopped");
        int produced = await _server.Backend.ForeverCancelled.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the server saw the abort
        Assert.True(produced >= later);
        await Expect(session.Page.Locator("button#send")).ToBeVisibleAsync();
        await Expect(session.Page.Locator("button#stop")).Not.ToBeVisibleAsync();
        string answer = await session.LastAssistant.Locator(".body").TextContentAsync() ?? "";
        Assert.StartsWith(answer, string.Concat(Enumerable.Repeat(ScriptedChatBackend.DefaultReply, answer.Length / ScriptedChatBackend.DefaultReply.Length + 1)));
        await Expect(session.LastAssistant.Locator(".stats")).ToContainTextAsync("stopped");

        await session.Page.ReloadAsync();
        var conversations = session.Page.Locator("#conversations li");
        await Expect(conversations).ToHaveCountAsync(1);
        await Expect(conversations.First).ToHaveClassAsync("current");
        await Expect(conversations.First.Locator(".open")).ToHaveTextAsync("forever");
        await Expect(session.Messages).ToHaveCountAsync(2);
        await Expect(session.Messages.First).ToHaveTextAsync("forever");
        await Expect(session.LastAssistant).ToHaveAttributeAsync("data-state", "stopped");
        await Expect(session.LastAssistant.Locator(".body")).ToHaveTextAsync(answer);
        session.AssertSelfContained();
    }

    [SkippableFact]
    public async Task Chat_page_asks_for_the_api_key_after_a_401_and_keeps_it()
    {
        var browser = chromium.Require();
        await using var session = await ChatPageSession.OpenAsync(browser, _server.BaseAddress);

        var dialog = session.Page.Locator("dialog#api-key-dialog");
        await Expect(dialog).ToBeVisibleAsync(); // /v1/models answered 401
        await Expect(dialog.Locator("#api-key-reason")).ToContainTextAsync("no API key");
        await session.Page.FillAsync("#api-key", "wrong-key");
        await session.Page.ClickAsync("#api-key-save");
        await Expect(dialog).ToBeVisibleAsync(); // asked again
        await Expect(dialog.Locator("#api-key-reason")).ToContainTextAsync("invalid API key");
        await session.Page.FillAsync("#api-key", ServerFixture.ApiKey);
        await session.Page.ClickAsync("#api-key-save");
        await Expect(dialog).Not.ToBeVisibleAsync();
        await Expect(session.Page.Locator("#model")).ToContainTextAsync("kimi-test");

        await session.SendAsync("echo:the key works");
        await session.WaitForStateAsync(session.LastAssistant, "done");
        await Expect(session.LastAssistant.Locator(".body")).ToHaveTextAsync("the key works");
        await Expect(session.LastAssistant.Locator(".stats")).ToContainTextAsync("tokens/s");

        await session.Page.ReloadAsync();
        await Expect(session.Page.Locator("#model")).ToContainTextAsync("kimi-test");
        await Expect(dialog).Not.ToBeVisibleAsync();
        Assert.Equal($"\"{ServerFixture.ApiKey}\"", await session.Page.EvaluateAsync<string>("localStorage.getItem('kimi.apiKey')"));
        session.AssertSelfContained("401");
    }

    [SkippableFact]
    public async Task Chat_page_renders_markdown_without_running_the_models_html_and_shows_tool_calls()
    {
        var browser = chromium.Require();
        await using var session = await ChatPageSession.OpenAsync(browser, _server.BaseAddress, ServerFixture.ApiKey);
        await session.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);

        const string markdown = "# Plan\n\nUse **bold**, *it* and `x < y`:\n\n1. one\n2. two\n   - nested\n\n" +
            "```python\nprint(\"<b>hi</b>\")\n```\n\n<img src=x onerror=\"document.title='pwned'\"> " +
            "[docs](https://example.com/a?b=1&c=2) [bad](javascript:document.title='pwned')";
        await session.SendAsync("echo:" + markdown);
        var answer = session.LastAssistant;
        await session.WaitForStateAsync(answer, "done");
        var body = answer.Locator(".body");
        await Expect(body.Locator("h1")).ToHaveTextAsync("Plan");
        await Expect(body.Locator("strong")).ToHaveTextAsync("bold");
        await Expect(body.Locator("em")).ToHaveTextAsync("it");
        await Expect(body.Locator("p code")).ToHaveTextAsync("x < y");
        await Expect(body.Locator("ol > li")).ToHaveCountAsync(2);
        await Expect(body.Locator("ol > li ul > li")).ToHaveTextAsync("nested");
        await Expect(body.Locator("pre code.language-python")).ToHaveTextAsync("print(\"<b>hi</b>\")");
        await Expect(body.Locator("img, b, script")).ToHaveCountAsync(0);
        await Expect(body).ToContainTextAsync("<img src=x onerror=");
        var links = body.Locator("a");
        await Expect(links).ToHaveCountAsync(1);
        await Expect(links).ToHaveAttributeAsync("href", "https://example.com/a?b=1&c=2");
        await Expect(links).ToHaveAttributeAsync("rel", "noopener noreferrer");
        Assert.NotEqual("pwned", await session.Page.TitleAsync());

        await body.Locator(".code-block button.copy").ClickAsync();
        await Expect(body.Locator(".code-block button.copy")).ToHaveTextAsync("Copied");
        Assert.Equal("print(\"<b>hi</b>\")", await session.Page.EvaluateAsync<string>("navigator.clipboard.readText()"));

        await session.SendAsync("call:get_weather {\"city\":\"Paris\"}");
        await session.WaitForStateAsync(session.LastAssistant, "done");
        var call = session.LastAssistant.Locator(".tool-call");
        await Expect(call.Locator("summary")).ToHaveTextAsync("Tool call: get_weather");
        await Expect(call.Locator("pre")).ToHaveTextAsync("{\n  \"city\": \"Paris\"\n}");
        session.AssertSelfContained();
    }
}
