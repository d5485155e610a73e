using System.IO.Compression;
using System.Reflection;
using KimiSharp.Text;

namespace KimiSharp.Tests.Text;

/// <summary>
/// The o200k_base ranks (NuGet Microsoft.ML.Tokenizers.Data.O200kBase) converted to a GGUF-style byte-level BPE
/// vocabulary the way llama.cpp's converter does for tiktoken models: token id = rank, token text = GPT-2
/// byte-to-unicode form, and one merge per multi-byte token: BPE on its bytes with only lower ranks must leave
/// exactly two parts, which become "left right" (merges ordered by the rank of the token they make).
/// </summary>
internal static class O200kVocabulary
{
    private static readonly Lazy<TokenizerData> Kimi = new(() => Build("kimi-k2"));
    private static readonly Lazy<Tokenizer> KimiTokenizerInstance = new(() => Tokenizer.Create(Kimi.Value));

    /// <summary>The vocabulary with Kimi-K2's pre-tokenizer (shared: building it takes a second).</summary>
    public static TokenizerData KimiK2 => Kimi.Value;

    /// <summary>A shared tokenizer over <see cref="KimiK2"/>.</summary>
    public static Tokenizer KimiK2Tokenizer => KimiTokenizerInstance.Value;

    public static byte[][] ReadRanks()
    {
        var assembly = Assembly.Load(new AssemblyName("Microsoft.ML.Tokenizers.Data.O200kBase"));
        using Stream compressed = assembly.GetManifestResourceStream("o200k_base.tiktoken.deflate")
            ?? throw new InvalidOperationException("o200k_base.tiktoken.deflate resource not found");
        using var reader = new StreamReader(new DeflateStream(compressed, CompressionMode.Decompress));
        string? header = reader.ReadLine();
        if (header is null || !header.StartsWith("Capacity:", StringComparison.Ordinal))
            throw new InvalidDataException($"unexpected o200k header '{header}'");
        var ranks = new List<byte[]>(200_000);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0) ranks.Add(Convert.FromBase64String(line)); // Microsoft's format: rank = line index
        }
        return ranks.ToArray();
    }

    /// <summary>The vocabulary; <paramref name="rankLimit"/> keeps only the lowest ranks (their merges only use lower ranks).</summary>
    public static TokenizerData Build(string pre, int? rankLimit = null)
    {
        byte[][] ranks = ReadRanks();
        if (rankLimit is { } limit && limit < ranks.Length) ranks = ranks[..limit];
        var tokens = new string[ranks.Length];
        var rankOf = new Dictionary<string, int>(ranks.Length, StringComparer.Ordinal);
        for (int r = 0; r < ranks.Length; r++)
        {
            tokens[r] = ByteLevel.Encode(ranks[r]);
            rankOf[tokens[r]] = r;
        }

        // Parts of a token are adjacent substrings, so "left + right" is a substring: look it up without allocating.
        var lookup = rankOf.GetAlternateLookup<ReadOnlySpan<char>>();
        var merges = new List<string>(ranks.Length);
        var starts = new List<int>(64); // start of each part; a part ends where the next starts
        for (int r = 0; r < ranks.Length; r++)
        {
            string token = tokens[r];
            if (token.Length < 2) continue;
            starts.Clear();
            for (int i = 0; i < token.Length; i++) starts.Add(i);
            while (starts.Count > 2)
            {
                int best = int.MaxValue, at = -1;
                for (int i = 0; i + 1 < starts.Count; i++)
                {
                    int end = i + 2 < starts.Count ? starts[i + 2] : token.Length;
                    if (lookup.TryGetValue(token.AsSpan(starts[i], end - starts[i]), out int pr) && pr < r && pr < best)
                    {
                        best = pr;
                        at = i;
                    }
                }
                if (at < 0) break;
                starts.RemoveAt(at + 1);
            }
            if (starts.Count == 2) merges.Add(string.Concat(token.AsSpan(0, starts[1]), " ", token.AsSpan(starts[1])));
        }

        return new TokenizerData("gpt2", pre, tokens, merges.ToArray(), Enumerable.Repeat((int)TokenType.Normal, tokens.Length).ToArray(),
            BosId: -1, EosId: -1, PadId: null, AddBos: false);
    }
}
