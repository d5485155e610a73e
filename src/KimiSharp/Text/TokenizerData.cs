namespace KimiSharp.Text;

/// <summary>
/// Everything a GGUF stores about a tokenizer (the <c>tokenizer.ggml.*</c> keys): model ("gpt2" = byte-level BPE),
/// pre-tokenizer name, token strings (GPT-2 byte-to-unicode form for normal tokens, literal text for special ones),
/// merges ("left right", rank = index), token types (<see cref="TokenType"/> values) and special ids.
/// </summary>
public sealed record TokenizerData(
    string Model,
    string Pre,
    string[] Tokens,
    string[] Merges,
    int[] TokenTypes,
    int BosId,
    int EosId,
    int? PadId,
    bool AddBos);
