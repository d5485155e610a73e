using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;

namespace KimiSharp.Text;

/// <summary>
/// Byte-level BPE tokenizer (GGUF <c>tokenizer.ggml.model = "gpt2"</c>) with the pre-tokenizer named by
/// <c>tokenizer.ggml.pre</c>. Thread-safe: one instance serves all requests.
/// </summary>
[SkipLocalsInit]
public sealed partial class Tokenizer
{
    private const int MaxCachedPieceLength = 64;
    private const int MaxCacheEntries = 1 << 17;

    private readonly string[] _tokens;
    private readonly TokenType[] _types;
    private readonly byte[][] _bytes;
    private readonly Dictionary<string, int> _idByText;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _idByTextSpan;
    private readonly Dictionary<string, int> _normalIdByByteText; // byte-level text → id, normal tokens only
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _normalIdByByteTextSpan;
    private readonly BytePairEncoder _bpe;
    private readonly PreTokenizer _pre;
    private readonly SpecialTokenMatcher _specials;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheSpan;
    private int _cacheCount;

    private Tokenizer(TokenizerData data)
    {
        if (data.Model != "gpt2")
            throw new NotSupportedException($"tokenizer.ggml.model '{data.Model}' is not supported (only byte-level BPE 'gpt2')");
        if (data.Tokens.Length == 0) throw new ArgumentException("the vocabulary has no tokens", nameof(data));
        if (data.TokenTypes.Length != 0 && data.TokenTypes.Length != data.Tokens.Length)
            throw new ArgumentException($"token_type has {data.TokenTypes.Length} entries for {data.Tokens.Length} tokens", nameof(data));

        int n = data.Tokens.Length;
        Data = data;
        _tokens = data.Tokens;
        _types = new TokenType[n];
        _bytes = new byte[n][];
        _idByText = new Dictionary<string, int>(n, StringComparer.Ordinal);
        _normalIdByByteText = new Dictionary<string, int>(n, StringComparer.Ordinal);
        var byteToId = new int[256];
        Array.Fill(byteToId, -1);

        for (int id = 0; id < n; id++)
        {
            string text = _tokens[id] ?? throw new ArgumentException($"token {id} is null", nameof(data));
            TokenType type = data.TokenTypes.Length == 0 ? TokenType.Normal : (TokenType)data.TokenTypes[id];
            _types[id] = type;
            _idByText.TryAdd(text, id);

            bool byteLevel = type is TokenType.Normal or TokenType.Byte or TokenType.Undefined;
            if (byteLevel && ByteLevel.TryDecode(text, out byte[] raw))
            {
                _bytes[id] = raw;
                if (type != TokenType.Byte || raw.Length == 1)
                {
                    _normalIdByByteText.TryAdd(text, id);
                    if (raw.Length == 1 && byteToId[raw[0]] < 0) byteToId[raw[0]] = id;
                }
            }
            else if (type is TokenType.Unused or TokenType.Unknown)
            {
                _bytes[id] = []; // like llama.cpp: unused fillers ("[PAD123]") render as nothing
            }
            else
            {
                _bytes[id] = Encoding.UTF8.GetBytes(text);
            }
        }

        var pairRank = new List<(int, int, int)>(data.Merges.Length);
        var mergeResult = new int[data.Merges.Length];
        for (int rank = 0; rank < data.Merges.Length; rank++)
        {
            string merge = data.Merges[rank];
            int space = merge.IndexOf(' ', 1);
            if (space < 0) throw new ArgumentException($"merge {rank} '{merge}' has no space", nameof(data));
            string left = merge[..space], right = merge[(space + 1)..];
            // A merge whose parts or result are not normal tokens can never produce a token: skip it.
            if (!_normalIdByByteText.TryGetValue(left, out int l) ||
                !_normalIdByByteText.TryGetValue(right, out int r) ||
                !_normalIdByByteText.TryGetValue(left + right, out int result))
                continue;
            pairRank.Add((l, r, rank));
            mergeResult[rank] = result;
        }

        _bpe = new BytePairEncoder(new PairRankTable(pairRank), mergeResult, byteToId);
        _pre = PreTokenizer.For(data.Pre);
        _specials = new SpecialTokenMatcher(_tokens, _types);
        _idByTextSpan = _idByText.GetAlternateLookup<ReadOnlySpan<char>>();
        _normalIdByByteTextSpan = _normalIdByByteText.GetAlternateLookup<ReadOnlySpan<char>>();
        _cacheSpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();

        BosId = data.BosId;
        EosId = data.EosId;
        AddBos = data.AddBos;
        EndOfGenerationIds = FindEndOfGeneration(data.EosId);
    }

    /// <summary>The data this tokenizer was built from.</summary>
    public TokenizerData Data { get; }

    public int VocabSize => _tokens.Length;

    /// <summary>Beginning-of-sequence id, or -1 when the vocabulary has none.</summary>
    public int BosId { get; }

    /// <summary>End-of-sequence id, or -1 when the vocabulary has none.</summary>
    public int EosId { get; }

    /// <summary>Whether prompts start with <see cref="BosId"/> (tokenizer.ggml.add_bos_token).</summary>
    public bool AddBos { get; }

    /// <summary>Ids that end generation: EOS plus the end-of-turn tokens of the vocabulary (Kimi: <|im_end|>, [EOS], [EOT]).</summary>
    public IReadOnlyList<int> EndOfGenerationIds { get; }

    public static Tokenizer Create(TokenizerData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new Tokenizer(data);
    }

    public TokenType GetTokenType(int id) => _types[CheckId(id)];

    /// <summary>The token's string as stored in the vocabulary (byte-level form for normal tokens).</summary>
    public string TokenText(int id) => _tokens[CheckId(id)];

    /// <summary>
    /// The raw bytes the token stands for: byte-level decoded for normal tokens, UTF-8 of the text for control and
    /// user-defined tokens, nothing for unused and unknown ones.
    /// </summary>
    public byte[] TokenBytes(int id) => (byte[])_bytes[CheckId(id)].Clone();

    internal ReadOnlySpan<byte> TokenBytesSpan(int id) => _bytes[CheckId(id)];

    /// <summary>Looks a token up by its vocabulary string (e.g. "&lt;|im_end|&gt;" or "Ġthe").</summary>
    public bool TryGetId(string tokenText, out int id) => _idByText.TryGetValue(tokenText, out id);

    public bool IsEndOfGeneration(int id) => EndOfGenerationIds.Contains(id);

    /// <summary>Empties the per-piece cache (benchmarks measure cold and warm encoding).</summary>
    internal void ClearCache()
    {
        _cache.Clear();
        Interlocked.Exchange(ref _cacheCount, 0);
    }

    /// <summary>
    /// Token ids of <paramref name="text"/>. Control and user-defined tokens are recognised only when
    /// <paramref name="parseSpecial"/> is true; otherwise "&lt;|im_end|&gt;" in text is just characters.
    /// No BOS is added (callers add <see cref="BosId"/> when <see cref="AddBos"/> says so).
    /// </summary>
    public int[] Encode(string text, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<int>(text.Length / 3 + 4);
        Encode(text.AsSpan(), parseSpecial, output);
        return output.ToArray();
    }

    /// <summary>Appends the token ids of <paramref name="text"/> to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<char> text, bool parseSpecial, List<int> output)
    {
        if (!parseSpecial || _specials.IsEmpty)
        {
            EncodeOrdinary(text, output);
            return;
        }
        int start = 0;
        while (start < text.Length)
        {
            int at = _specials.FindNext(text, start, out int id, out int length);
            if (at < 0)
            {
                EncodeOrdinary(text[start..], output);
                break;
            }
            if (at > start) EncodeOrdinary(text[start..at], output);
            output.Add(id);
            start = at + length;
        }
    }

    private void EncodeOrdinary(ReadOnlySpan<char> text, List<int> output)
    {
        if (text.IsEmpty) return;
        var ends = new List<int>(text.Length / 4 + 4);
        _pre.Split(text, ends);
        int start = 0;
        foreach (int end in ends)
        {
            EncodePiece(text[start..end], output);
            start = end;
        }
    }

    private void EncodePiece(ReadOnlySpan<char> piece, List<int> output)
    {
        bool cacheable = piece.Length <= MaxCachedPieceLength;
        if (cacheable && _cacheSpan.TryGetValue(piece, out int[]? cached))
        {
            output.AddRange(cached);
            return;
        }

        int maxBytes = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rented = null;
        Span<byte> buffer = maxBytes <= 1024 ? stackalloc byte[1024] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            int byteCount = Encoding.UTF8.GetBytes(piece, buffer);
            ReadOnlySpan<byte> bytes = buffer[..byteCount];
            int before = output.Count;

            if (!(_pre.WholePieceLookup && TryWholePiece(bytes, output))) _bpe.Encode(bytes, output);

            if (cacheable)
            {
                // ConcurrentDictionary.Count takes every lock: keep our own (approximate) count instead.
                if (Interlocked.Increment(ref _cacheCount) > MaxCacheEntries)
                {
                    _cache.Clear();
                    Interlocked.Exchange(ref _cacheCount, 0);
                }
                _cache.TryAdd(piece.ToString(), output.GetRange(before, output.Count - before).ToArray());
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private bool TryWholePiece(ReadOnlySpan<byte> bytes, List<int> output)
    {
        if (bytes.Length > 256) return false;
        Span<char> chars = stackalloc char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteLevel.ByteToChar(bytes[i]);
        if (!_normalIdByByteTextSpan.TryGetValue(chars, out int id)) return false;
        output.Add(id);
        return true;
    }

    /// <summary>Text of the ids; invalid UTF-8 (e.g. a cut multi-byte character) becomes U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new ArrayBufferWriter<byte>(ids.Length * 4 + 16);
        foreach (int id in ids) bytes.Write(_bytes[CheckId(id)]);
        return Encoding.UTF8.GetString(bytes.WrittenSpan);
    }

    private int CheckId(int id)
    {
        if ((uint)id >= (uint)_tokens.Length)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"token id outside the vocabulary (0..{_tokens.Length - 1})");
        return id;
    }

    private int[] FindEndOfGeneration(int eos)
    {
        var ids = new List<int>();
        if (eos >= 0 && eos < _tokens.Length) ids.Add(eos);
        foreach (string name in EndOfTurnNames)
        {
            if (_idByText.TryGetValue(name, out int id) && !ids.Contains(id) &&
                _types[id] is TokenType.Control or TokenType.UserDefined)
                ids.Add(id);
        }
        return ids.ToArray();
    }

    private static readonly string[] EndOfTurnNames =
    [
        "<|im_end|>", "[EOS]", "[EOT]", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<|EOT|>", "<end_of_turn>",
        "<｜end▁of▁sentence｜>", "</s>",
    ];
}
