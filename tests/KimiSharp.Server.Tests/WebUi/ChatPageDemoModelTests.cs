using KimiSharp.Cli.Commands;
using KimiSharp.Server.Hosting;
using KimiSharp.Server.Tests.Support;
using static Microsoft.Playwright.Assertions;

namespace KimiSharp.Server.Tests.WebUi;

/// <summary><c>kimi serve</c> on the built-in demo model (real engine, tokenizer and template) with its chat page in headless Chromium.</summary>
[Collection("chromium")]
public sealed class ChatPageDemoModelTests(ChromiumFixture chromium)
{
    [SkippableFact]
    public async Task Chat_page_streams_a_demo_model_answer_with_tokens_per_second_and_keeps_it_after_reload()
    {
        var browser = chromium.Require();
        var settings = new ServeSettings(null, new ServerOptions { Port = 0 }, ContextLength: 512, Threads: 1, Parallel: 1, Alias: null);
        await using var running = await ServeCommand.StartAsync(settings, TextWriter.Null);
        await using var session = await ChatPageSession.OpenAsync(browser, running.Server.BaseAddress);
        await running.Loading.WaitAsync(TimeSpan.FromSeconds(120));
        await session.SaveSettingsAsync(temperature: 0, maxTokens: 16);

        await session.SendAsync("Hello");
        var answer = session.LastAssistant;
        await session.WaitForStateAsync(answer, "done");
        var stats = await answer.Locator(".stats").TextContentAsync() ?? "";
        var tokens = System.Text.RegularExpressions.Regex.Match(stats, @"(\d+) tokens · ([\d.]+) tokens/s");
        Assert.True(tokens.Success, $"no 'N tokens · R tokens/s' under the answer: '{stats}'");
        Assert.InRange(int.Parse(tokens.Groups[1].Value), 1, 16);
        Assert.True(double.Parse(tokens.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) > 0);
        string text = await answer.Locator(".body").TextContentAsync() ?? "";

        await session.Page.ReloadAsync();
        await Expect(session.Page.Locator("#conversations li .open")).ToHaveTextAsync(["Hello"]);
        await Expect(session.Messages).ToHaveCountAsync(2);
        await Expect(session.Messages.First).ToHaveAttributeAsync("data-role", "user");
        await Expect(session.LastAssistant).ToHaveAttributeAsync("data-state", "done");
        await Expect(session.LastAssistant.Locator(".body")).ToHaveTextAsync(text);
        await Expect(session.LastAssistant.Locator(".stats")).ToHaveTextAsync(stats);
        await Expect(session.Page.Locator("#model")).ToContainTextAsync("kimi-tiny-demo");
        session.AssertSelfContained();
    }
}
