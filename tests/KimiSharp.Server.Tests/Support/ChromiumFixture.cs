using Microsoft.Playwright;

namespace KimiSharp.Server.Tests.Support;

/// <summary>
/// Headless Chromium driven by Microsoft.Playwright, shared by the chat page tests (collection "chromium").
/// It launches the system's Chromium (Debian's <c>chromium</c> package, which <c>.ci/run</c> installs) through
/// <see cref="BrowserTypeLaunchOptions.ExecutablePath"/>: Playwright's own browser downloads are never used, and
/// its driver (Node plus its JS package) comes inside the NuGet package. Set <c>KIMI_CHROMIUM</c> to use another
/// Chromium or Chrome binary. When none is installed, <see cref="Require"/> skips the calling test saying so.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    private static readonly string[] Candidates = ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome"];
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>The Chromium binary found, or null.</summary>
    public string? ExecutablePath { get; } = Find();

    public async Task InitializeAsync()
    {
        if (ExecutablePath is null)
            return;
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ExecutablePath, Headless = true });
    }

    /// <summary>The launched browser; skips the calling test when no Chromium is installed.</summary>
    public IBrowser Require()
    {
        Skip.If(ExecutablePath is null,
            $"no Chromium found (looked for $KIMI_CHROMIUM and {string.Join(", ", Candidates)} on PATH): install Debian's 'chromium' package " +
            "(apt-get install chromium; .ci/run does) to run the chat page's browser tests");
        return _browser ?? throw new InvalidOperationException($"Chromium at {ExecutablePath} did not launch");
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        _playwright?.Dispose();
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("KIMI_CHROMIUM") is { Length: > 0 } configured)
            return File.Exists(configured) ? configured : null;
        var path = Environment.GetEnvironmentVariable("PATH")?.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries) ?? [];
        return Candidates.SelectMany(name => path.Select(folder => Path.Combine(folder, name))).FirstOrDefault(File.Exists);
    }
}

[CollectionDefinition("chromium")]
public sealed class ChromiumCollection : ICollectionFixture<ChromiumFixture>;
