namespace KimiSharp.Text;

/// <summary>
/// Applies stop strings to streamed text: text is released as soon as it cannot be the start of a stop
/// string; text that might be is held back until the next piece decides it. When a stop string appears,
/// everything before it is released and generation should end (the stop string itself is never shown).
/// </summary>
public sealed class StopSequenceFilter(IReadOnlyList<string> stops)
{
    private string _pending = "";

    public bool HasStops => stops.Count > 0;

    /// <summary>Adds <paramref name="text"/>; returns the text safe to show and the stop string found, if any.</summary>
    public (string Released, string? Stop) Push(string text)
    {
        if (stops.Count == 0)
            return (text, null);
        _pending += text;

        int earliest = -1;
        string? found = null;
        foreach (var stop in stops)
        {
            int at = _pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (earliest < 0 || at < earliest))
            {
                earliest = at;
                found = stop;
            }
        }

        if (found is not null)
        {
            var before = _pending[..earliest];
            _pending = "";
            return (before, found);
        }

        int hold = KimiSharp.Chat.PartialMatch.HeldSuffixLength(_pending, stops);
        var released = _pending[..(_pending.Length - hold)];
        _pending = _pending[(_pending.Length - hold)..];
        return (released, null);
    }

    /// <summary>Releases what was held back (generation ended without a stop string).</summary>
    public string Flush()
    {
        var rest = _pending;
        _pending = "";
        return rest;
    }
}
