namespace KimiSharp.Text;

/// <summary>Regex-style character class text ("a-zA-Z…", single chars or ranges) as sorted inclusive ranges.</summary>
internal static class CharRanges
{
    public static int[] Parse(string spec)
    {
        var cps = new List<int>();
        for (int i = 0; i < spec.Length; i += char.IsSurrogatePair(spec, i) ? 2 : 1) cps.Add(char.ConvertToUtf32(spec, i));
        var ranges = new List<(int, int)>();
        for (int i = 0; i < cps.Count; i++)
        {
            if (i + 2 < cps.Count && cps[i + 1] == '-')
            {
                ranges.Add((cps[i], cps[i + 2]));
                i += 2;
            }
            else
            {
                ranges.Add((cps[i], cps[i]));
            }
        }
        return ranges.OrderBy(r => r.Item1).SelectMany(r => new[] { r.Item1, r.Item2 }).ToArray();
    }

    public static bool Contains(int[] ranges, int cp)
    {
        for (int i = 0; i < ranges.Length; i += 2)
        {
            if (cp < ranges[i]) return false;
            if (cp <= ranges[i + 1]) return true;
        }
        return false;
    }
}
