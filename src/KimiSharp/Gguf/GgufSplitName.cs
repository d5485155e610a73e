using System.Text.RegularExpressions;

namespace KimiSharp.Gguf;

/// <summary>File names of split sets: <c>PREFIX-0000k-of-0000N.gguf</c> (k 1-based, five digits, as gguf-split writes them).</summary>
public static partial class GgufSplitName
{
    [GeneratedRegex(@"^(?<prefix>.+)-(?<k>\d{5})-of-(?<n>\d{5})\.gguf$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>The path of part <paramref name="part"/> (1-based) of <paramref name="count"/>.</summary>
    public static string PartPath(string pathPrefix, int part, int count) => $"{pathPrefix}-{part:D5}-of-{count:D5}.gguf";

    /// <summary>Recognises a part's path: its prefix (with directory), its 1-based number and the part count.</summary>
    public static bool TryParse(string path, out string pathPrefix, out int part, out int count)
    {
        pathPrefix = "";
        part = count = 0;
        var m = Pattern().Match(Path.GetFileName(path));
        if (!m.Success)
            return false;
        part = int.Parse(m.Groups["k"].Value, System.Globalization.CultureInfo.InvariantCulture);
        count = int.Parse(m.Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture);
        if (part < 1 || count < 1 || part > count)
            return false;
        pathPrefix = Path.Combine(Path.GetDirectoryName(path) ?? "", m.Groups["prefix"].Value);
        return true;
    }
}
