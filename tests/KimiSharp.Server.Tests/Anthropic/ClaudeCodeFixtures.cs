using System.Net.Http.Headers;

namespace KimiSharp.Server.Tests.Anthropic;

/// <summary>
/// Request bodies Claude Code 2.1.328 sent to our server, recorded by <see cref="Support.RecordingServer"/>
/// (<c>KIMI_CAPTURE_DIR</c>) while <see cref="ClaudeCodeEndToEndTests"/> ran: <c>first-request.json</c> is its
/// first turn with the default system prompt and tools, <c>tool-result-request.json</c> the turn after the model's
/// Bash call. Kept as they came (the device id is a random value from the test's throwaway HOME).
/// </summary>
internal static class ClaudeCodeFixtures
{
    public static string Directory { get; } = Path.Combine(RepoRoot(), "tests", "KimiSharp.Server.Tests", "Anthropic", "Fixtures", "claude-code-2.1.328");

    public static string Read(string name) => File.ReadAllText(Path.Combine(Directory, name));

    public static HttpContent Content(string name) =>
        new StringContent(Read(name)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "KimiSharp.slnx")))
                return dir.FullName;
        throw new InvalidOperationException("repository root (KimiSharp.slnx) not found above " + AppContext.BaseDirectory);
    }
}
