using System.Text;

namespace KimiSharp.Engine;

/// <summary>
/// Releases generated text while watching for stop strings that may span tokens: any tail of the text
/// that could still grow into a stop string is held back until it cannot, so a stop string is never
/// half-emitted and nothing after it is released.
/// </summary>
internal sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private readonly StringBuilder _pending = new();

    public StopStringMatcher(IReadOnlyList<string> stops)
    {
        _stops = stops.Where(s => !string.IsNullOrEmpty(s)).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The stop string that matched, once one has.</summary>
    public string? Matched { get; private set; }

    /// <summary>Adds text; returns what can be released now (text before a match, or text that cannot start one).</summary>
    public string Push(string text)
    {
        if (Matched is not null) return "";
        if (_stops.Length == 0) return text;
        _pending.Append(text);
        string pending = _pending.ToString();

        // Earliest match wins; on equal positions the longer stop string.
        int at = -1;
        foreach (var stop in _stops)
        {
            int i = pending.IndexOf(stop, StringComparison.Ordinal);
            if (i >= 0 && (at < 0 || i < at || (i == at && stop.Length > Matched!.Length)))
            {
                at = i;
                Matched = stop;
            }
        }
        if (at >= 0)
        {
            _pending.Clear();
            return pending[..at];
        }

        int hold = LongestSuffixThatStartsAStop(pending);
        _pending.Remove(0, pending.Length - hold);
        return pending[..^hold];
    }

    /// <summary>Generation ended: release what was held back (it can no longer become a stop string).</summary>
    public string Flush(string finalText)
    {
        string released = Push(finalText);
        if (Matched is not null) return released;
        string rest = _pending.ToString();
        _pending.Clear();
        return released + rest;
    }

    private int LongestSuffixThatStartsAStop(string text)
    {
        int best = 0;
        foreach (var stop in _stops)
        {
            for (int len = Math.Min(stop.Length - 1, text.Length); len > best; len--)
            {
                if (text.AsSpan(text.Length - len).SequenceEqual(stop.AsSpan(0, len)))
                {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }
}
