using System.Text;
using KimiSharp.Text;

namespace KimiSharp.Grammar;

/// <summary>
/// The vocabulary as the Enforcer sees it: the bytes of every text token (in a <see cref="TokenTrie"/>), the
/// special tokens by text (matched only as their own terminals, never as text), the end-of-generation ids, and
/// precomputed slices. Building it takes a fraction of a second for a 160K vocabulary; build it once per
/// tokenizer and share it (immutable, thread-safe).
/// </summary>
public sealed class GrammarVocabulary
{
    private readonly Dictionary<string, int> _specials;

    private GrammarVocabulary(byte[]?[] textTokens, Dictionary<string, int> specials, int[] endOfGeneration)
    {
        Size = textTokens.Length;
        TokenBytes = textTokens;
        _specials = specials;
        EndOfGeneration = endOfGeneration;
        Trie = TokenTrie.Build(textTokens, _ => true);
        Slices = [new VocabularySlice(CodePointSet.All, this), new VocabularySlice(JsonStringPlain, this)];
    }

    /// <summary>Code points a JSON string holds unescaped: everything but '"', '\' and the C0 controls.</summary>
    public static CodePointSet JsonStringPlain { get; } = CodePointSet.Range(0x20, CodePointSet.MaxCodePoint)
        .Except(CodePointSet.FromRanges([('"', '"'), ('\\', '\\')]));

    public int Size { get; }

    /// <summary>Per token id: its bytes if it is a text token, else null (special and unused tokens).</summary>
    internal byte[]?[] TokenBytes { get; }

    public IReadOnlyList<int> EndOfGeneration { get; }

    public IReadOnlyDictionary<string, int> SpecialTokens => _specials;

    internal TokenTrie Trie { get; }

    /// <summary>Slice 0: every complete UTF-8 text; slice 1: JSON-string-safe text. The order is fixed (grammars cache the index).</summary>
    internal VocabularySlice[] Slices { get; }

    public bool TryGetSpecial(string text, out int id) => _specials.TryGetValue(text, out id);

    public bool IsText(int token) => (uint)token < (uint)Size && TokenBytes[token] is not null;

    /// <summary>The Enforcer's view of a tokenizer: normal and byte tokens are text; control and user-defined tokens are special.</summary>
    public static GrammarVocabulary FromTokenizer(Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var text = new byte[]?[tokenizer.VocabSize];
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            switch (tokenizer.GetTokenType(id))
            {
                case TokenType.Normal or TokenType.Byte:
                    var bytes = tokenizer.TokenBytesSpan(id);
                    if (bytes.Length > 0) text[id] = bytes.ToArray();
                    break;
                case TokenType.Control or TokenType.UserDefined:
                    specials.TryAdd(tokenizer.TokenText(id), id);
                    break;
            }
        }
        return new GrammarVocabulary(text, specials, tokenizer.EndOfGenerationIds.ToArray());
    }

    /// <summary>A vocabulary from raw parts (tests, other tokenizers). Text tokens with null or empty bytes are never allowed.</summary>
    public static GrammarVocabulary Create(IReadOnlyList<byte[]?> textTokens, IReadOnlyDictionary<string, int> specialTokens, IReadOnlyList<int> endOfGeneration)
    {
        var text = new byte[]?[textTokens.Count];
        for (int i = 0; i < text.Length; i++) text[i] = textTokens[i] is { Length: > 0 } b ? (byte[])b.Clone() : null;
        foreach (var (name, id) in specialTokens)
        {
            if ((uint)id >= (uint)text.Length) throw new ArgumentException($"special token '{name}' has id {id}, outside the vocabulary");
            text[id] = null;
        }
        return new GrammarVocabulary(text, new Dictionary<string, int>(specialTokens, StringComparer.Ordinal), endOfGeneration.ToArray());
    }

    /// <summary>The token's text (specials by name) for diagnostics.</summary>
    public string Describe(int token)
    {
        if (TokenBytes[token] is { } bytes) return Encoding.UTF8.GetString(bytes);
        foreach (var (name, id) in _specials) if (id == token) return name;
        return $"<{token}>";
    }
}

/// <summary>
/// The tokens made only of whole characters from one set (precomputed mask) and a trie of all the others. Where a
/// grammar state loops on every character of the set, the mask is the slice's mask plus a walk of the (much
/// smaller) rest trie — the walk over a string body's 150K plain tokens is skipped.
/// </summary>
internal sealed class VocabularySlice
{
    public VocabularySlice(CodePointSet chars, GrammarVocabulary vocabulary)
    {
        Chars = chars;
        var sequences = new List<(byte Lo, byte Hi)[]>();
        foreach (var (lo, hi) in chars.Ranges) Utf8Sequences.Split(lo, hi, sequences);
        Sequences = sequences.ToArray();
        Mask = new ulong[(vocabulary.Size + 63) / 64];
        var inSlice = new bool[vocabulary.Size];
        for (int id = 0; id < vocabulary.Size; id++)
        {
            if (vocabulary.TokenBytes[id] is { } bytes && AllInSet(bytes, chars))
            {
                inSlice[id] = true;
                Mask[id >> 6] |= 1UL << (id & 63);
            }
        }
        Rest = TokenTrie.Build(vocabulary.TokenBytes, id => !inSlice[id]);
    }

    public CodePointSet Chars { get; }

    /// <summary>UTF-8 byte-range sequences of <see cref="Chars"/>.</summary>
    public (byte Lo, byte Hi)[][] Sequences { get; }

    public ulong[] Mask { get; }

    public TokenTrie Rest { get; }

    private static bool AllInSet(ReadOnlySpan<byte> bytes, CodePointSet chars)
    {
        while (bytes.Length > 0)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes, out var rune, out int used) != System.Buffers.OperationStatus.Done) return false;
            if (!chars.Contains(rune.Value)) return false;
            bytes = bytes[used..];
        }
        return true;
    }
}
