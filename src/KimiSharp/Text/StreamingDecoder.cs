using System.Text;

namespace KimiSharp.Text;

/// <summary>
/// Turns a stream of token ids into text pieces without ever splitting a UTF-8 character: bytes of an incomplete
/// character are held until the next token completes it (or <see cref="Flush"/> gives up and emits U+FFFD).
/// </summary>
public sealed class StreamingDecoder(Tokenizer tokenizer)
{
    private readonly Tokenizer _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
    private readonly List<byte> _pending = new(8);

    /// <summary>Adds one token; returns the text that is now complete (possibly empty).</summary>
    public string Push(int id)
    {
        ReadOnlySpan<byte> bytes = _tokenizer.TokenBytesSpan(id);
        if (_pending.Count == 0)
        {
            int complete = CompletePrefixLength(bytes);
            string text = Encoding.UTF8.GetString(bytes[..complete]);
            for (int i = complete; i < bytes.Length; i++) _pending.Add(bytes[i]);
            return text;
        }

        foreach (byte b in bytes) _pending.Add(b);
        byte[] all = _pending.ToArray();
        int n = CompletePrefixLength(all);
        _pending.Clear();
        for (int i = n; i < all.Length; i++) _pending.Add(all[i]);
        return Encoding.UTF8.GetString(all, 0, n);
    }

    /// <summary>Emits whatever is held (an unfinished character becomes U+FFFD) and resets.</summary>
    public string Flush()
    {
        if (_pending.Count == 0) return string.Empty;
        string text = Encoding.UTF8.GetString(_pending.ToArray());
        _pending.Clear();
        return text;
    }

    /// <summary>
    /// Length of the prefix that can be decoded now: everything except a trailing, still-completable start of a
    /// multi-byte character (a lead byte followed by fewer continuation bytes than it needs).
    /// </summary>
    internal static int CompletePrefixLength(ReadOnlySpan<byte> bytes)
    {
        int n = bytes.Length;
        // Look back over at most 3 continuation bytes for a lead byte.
        for (int back = 1; back <= Math.Min(4, n); back++)
        {
            byte b = bytes[n - back];
            if ((b & 0xC0) == 0x80) continue; // continuation byte: keep looking
            int need = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xC2 && b <= 0xDF ? 2 : 1;
            return need > back ? n - back : n;
        }
        return n;
    }
}
