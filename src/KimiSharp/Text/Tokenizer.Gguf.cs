using KimiSharp.Gguf;

namespace KimiSharp.Text;

public sealed partial class Tokenizer
{
    /// <summary>
    /// The tokenizer stored in a GGUF's <c>tokenizer.ggml.*</c> keys. Throws <see cref="GgufFormatException"/> when a
    /// key is missing or malformed, <see cref="NotSupportedException"/> for a tokenizer model or pre-tokenizer we lack.
    /// </summary>
    public static Tokenizer FromGguf(GgufMetadata metadata) => Create(ReadData(metadata));

    /// <summary>Reads the <c>tokenizer.ggml.*</c> keys into a <see cref="TokenizerData"/>.</summary>
    public static TokenizerData ReadData(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string model = metadata.GetString("tokenizer.ggml.model");
        if (model != "gpt2")
            throw new NotSupportedException($"{metadata.FilePath}: tokenizer.ggml.model '{model}' is not supported (only byte-level BPE 'gpt2')");

        string[] tokens = metadata.GetStringArray("tokenizer.ggml.tokens");
        int[] types = metadata.TryGetArray<int>("tokenizer.ggml.token_type", out var t) ? t : [];
        if (types.Length != 0 && types.Length != tokens.Length)
            throw new GgufFormatException(metadata.FilePath, $"token_type has {types.Length} entries for {tokens.Length} tokens", key: "tokenizer.ggml.token_type");
        string[] merges = metadata.TryGetArray<string>("tokenizer.ggml.merges", out var m) ? m : [];
        string pre = metadata.GetString("tokenizer.ggml.pre", "default");

        int bos = OptionalId(metadata, "tokenizer.ggml.bos_token_id", tokens.Length);
        int eos = OptionalId(metadata, "tokenizer.ggml.eos_token_id", tokens.Length);
        int pad = OptionalId(metadata, "tokenizer.ggml.padding_token_id", tokens.Length);
        bool addBos = metadata.GetBool("tokenizer.ggml.add_bos_token", false);
        return new TokenizerData(model, pre, tokens, merges, types, bos, eos, pad >= 0 ? pad : null, addBos);
    }

    private static int OptionalId(GgufMetadata metadata, string key, int vocabSize)
    {
        if (!metadata.ContainsKey(key)) return -1;
        long id = metadata.GetInt64(key);
        if (id < 0 || id >= vocabSize)
            throw new GgufFormatException(metadata.FilePath, $"token id {id} is outside the vocabulary (0..{vocabSize - 1})", key: key);
        return (int)id;
    }
}
