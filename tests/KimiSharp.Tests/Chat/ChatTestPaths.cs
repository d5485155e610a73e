namespace KimiSharp.Tests.Chat;

/// <summary>Locates the repository root (for committed goldens) and ../shared/reference (optional inputs).</summary>
internal static class ChatTestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared/reference relative to the repository root (or to the folder holding a worktree); null when absent.</summary>
    public static string? SharedReference { get; } = FindShared();

    public static string GoldenFile(string name) => Path.Combine(RepoRoot, "tests", "KimiSharp.Tests", "Chat", "Golden", name);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KimiSharp.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException("repository root (KimiSharp.slnx) not found above " + AppContext.BaseDirectory);
    }

    private static string? FindShared()
    {
        var root = new DirectoryInfo(RepoRoot);
        foreach (var parent in new[] { root.Parent, root.Parent?.Parent })
        {
            if (parent == null) continue;
            var candidate = Path.Combine(parent.FullName, "shared", "reference");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }
}

/// <summary>A theory that is skipped, with a message, when ../shared/reference is not present.</summary>
public sealed class SharedReferenceTheoryAttribute : TheoryAttribute
{
    public SharedReferenceTheoryAttribute()
    {
        if (ChatTestPaths.SharedReference == null) Skip = "../shared/reference is absent: tests on the real chat templates are skipped";
    }
}
