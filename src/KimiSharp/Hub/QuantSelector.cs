using System.Text.RegularExpressions;

namespace KimiSharp.Hub;

/// <summary>
/// Picks the GGUF files of one quantization from a repository listing: every file under a folder named
/// like the quant (unsloth's "UD-Q2_K_XL/…-00001-of-00008.gguf"), or whose name carries the quant as a
/// whole word ("…-Q4_K_M.gguf", "…-Q4_K_M-00001-of-00002.gguf"). "Q4_K" does not pick "Q4_K_M".
/// </summary>
public static partial class QuantSelector
{
    /// <summary>Files of <paramref name="quant"/> in path order; with no quant, the only GGUF set in the repository.</summary>
    public static IReadOnlyList<HubFile> Select(IReadOnlyList<HubFile> files, string? quant)
    {
        var ggufs = files.Where(f => f.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)
                                     && !Path.GetFileName(f.Path).StartsWith("mmproj", StringComparison.OrdinalIgnoreCase)).ToList();
        if (ggufs.Count == 0)
            throw new HubException("the repository has no .gguf files");

        if (string.IsNullOrWhiteSpace(quant))
        {
            var quants = AvailableQuants(ggufs);
            if (quants.Count == 1) quant = quants[0];
            else if (ggufs.Count == 1) return ggufs;
            else throw new HubException($"the repository has several quantizations; pick one with REPO:QUANT ({string.Join(", ", quants)})");
        }

        var picked = ggufs.Where(f => Matches(f.Path, quant)).OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        if (picked.Count == 0)
            throw new HubException($"no GGUF files for quantization '{quant}'; available: {string.Join(", ", AvailableQuants(ggufs))}");

        // A folder match wins over loose file-name matches elsewhere in the repository.
        var inFolder = picked.Where(f => FolderOf(f.Path).Split('/').Any(d => string.Equals(d, quant, StringComparison.OrdinalIgnoreCase))).ToList();
        if (inFolder.Count > 0) picked = inFolder;
        CheckSplitSetComplete(picked);
        return picked;
    }

    /// <summary>Quantization names found in the listing (folder names, or the word before the split suffix).</summary>
    public static IReadOnlyList<string> AvailableQuants(IEnumerable<HubFile> ggufs)
    {
        var names = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var f in ggufs)
        {
            string folder = FolderOf(f.Path);
            if (folder.Length > 0 && QuantWord().IsMatch(folder))
            {
                names.Add(folder.Split('/')[^1]);
                continue;
            }
            var m = QuantInName().Match(Path.GetFileName(f.Path));
            if (m.Success) names.Add(m.Groups["q"].Value);
        }
        return names.ToList();
    }

    private static bool Matches(string path, string quant)
    {
        if (FolderOf(path).Split('/').Any(d => string.Equals(d, quant, StringComparison.OrdinalIgnoreCase)))
            return true;
        string name = Path.GetFileName(path);
        int from = 0;
        while ((from = name.IndexOf(quant, from, StringComparison.OrdinalIgnoreCase)) >= 0)
        {
            bool startOk = from == 0 || name[from - 1] is '-' or '.' or '_';
            int end = from + quant.Length;
            bool endOk = end < name.Length && name[end] is '-' or '.';
            if (startOk && endOk) return true;
            from++;
        }
        return false;
    }

    /// <summary>If the files are parts NAME-0000k-of-0000N, all N must be there.</summary>
    private static void CheckSplitSetComplete(IReadOnlyList<HubFile> picked)
    {
        foreach (var group in picked.Select(f => SplitSuffix().Match(f.Path)).Where(m => m.Success).GroupBy(m => m.Groups["n"].Value))
        {
            int n = int.Parse(group.Key);
            if (group.Select(m => m.Groups["k"].Value).Distinct().Count() != n)
                throw new HubException($"the repository lists {group.Count()} of {n} split parts for this quantization");
        }
    }

    private static string FolderOf(string path) => path.Contains('/') ? path[..path.LastIndexOf('/')] : "";

    [GeneratedRegex(@"(?<k>\d{5})-of-(?<n>\d{5})\.gguf$", RegexOptions.IgnoreCase)]
    private static partial Regex SplitSuffix();

    [GeneratedRegex(@"(^|[-_.])(?<q>(UD-)?(I?Q\d[A-Z0-9_]*|BF16|F16|F32|TQ\d_\d))(-\d{5}-of-\d{5})?\.gguf$", RegexOptions.IgnoreCase)]
    private static partial Regex QuantInName();

    [GeneratedRegex(@"(^|/)(UD-)?(I?Q\d|BF16|F16|F32|TQ\d)", RegexOptions.IgnoreCase)]
    private static partial Regex QuantWord();
}
