namespace KimiSharp.Tests.Text;

/// <summary>Locates ../shared/reference (next to the repository root), which CI machines may not have.</summary>
internal static class SharedReference
{
    /// <summary>The reference folder, or null when it is absent.</summary>
    public static string? Directory { get; } = Find();

    private static string? Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KimiSharp.slnx")))
            {
                string reference = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "reference"));
                if (System.IO.Directory.Exists(reference)) return reference;
                // Worktrees live one level deeper (/work/wt/NAME): also try the parent's sibling.
                string alt = Path.GetFullPath(Path.Combine(dir.FullName, "..", "..", "shared", "reference"));
                return System.IO.Directory.Exists(alt) ? alt : null;
            }
        }
        return null;
    }
}
