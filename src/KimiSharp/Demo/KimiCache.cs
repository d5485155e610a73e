namespace KimiSharp.Demo;

/// <summary>
/// Where KimiSharp keeps downloaded and generated models: $KIMISHARP_CACHE, else $XDG_CACHE_HOME/kimisharp,
/// else ~/.cache/kimisharp (on Windows %LOCALAPPDATA%\kimisharp).
/// </summary>
public static class KimiCache
{
    public static string Root
    {
        get
        {
            if (Environment.GetEnvironmentVariable("KIMISHARP_CACHE") is { Length: > 0 } own) return own;
            if (OperatingSystem.IsWindows())
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "kimisharp");
            if (Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg) return Path.Combine(xdg, "kimisharp");
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "kimisharp");
        }
    }

    /// <summary>Default download directory of <c>kimi pull</c> for a repository: ROOT/models/OWNER/NAME.</summary>
    public static string ModelsDirectory(string repo) => Path.Combine([Root, "models", .. repo.Split('/')]);
}
