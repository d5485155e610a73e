using KimiSharp.Gguf;

namespace KimiSharp.Text;

/// <summary>Writes a <see cref="TokenizerData"/> as the <c>tokenizer.ggml.*</c> keys llama.cpp reads.</summary>
public static class TokenizerGgufKeys
{
    public static void Write(GgufWriter writer, TokenizerData data)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(data);
        writer.SetString("tokenizer.ggml.model", data.Model);
        writer.SetString("tokenizer.ggml.pre", data.Pre);
        writer.SetArray("tokenizer.ggml.tokens", data.Tokens);
        writer.SetArray("tokenizer.ggml.token_type", data.TokenTypes);
        writer.SetArray("tokenizer.ggml.merges", data.Merges);
        if (data.BosId >= 0) writer.SetUInt32("tokenizer.ggml.bos_token_id", (uint)data.BosId);
        if (data.EosId >= 0) writer.SetUInt32("tokenizer.ggml.eos_token_id", (uint)data.EosId);
        if (data.PadId is int pad) writer.SetUInt32("tokenizer.ggml.padding_token_id", (uint)pad);
        writer.SetBool("tokenizer.ggml.add_bos_token", data.AddBos);
    }
}
