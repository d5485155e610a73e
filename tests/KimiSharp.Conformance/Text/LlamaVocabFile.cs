using KimiSharp.Gguf;
using KimiSharp.TestModels;
using KimiSharp.Text;
using LLama;
using LLama.Common;

namespace KimiSharp.Conformance.Text;

/// <summary>
/// A vocabulary-only GGUF llama.cpp can load: the hyperparameter keys of our kimi-tiny test model (no tensors) with
/// the tokenizer keys of any <see cref="TokenizerData"/>; loaded with vocab_only so only the tokenizer is built.
/// </summary>
public static class LlamaVocabFile
{
    public static void Write(TokenizerData data, string path)
    {
        GgufWriter model = TestModelWriter.CreateWriter(TestModelSpec.ForShape("kimi-tiny"));
        var writer = new GgufWriter();
        foreach (string key in model.Keys)
        {
            if (key.StartsWith("tokenizer.", StringComparison.Ordinal)) continue;
            if (model.TryGetValue(key, out var value)) writer.Set(key, value);
        }
        TokenizerGgufKeys.Write(writer, data);
        writer.Write(path);
    }

    public static LLamaWeights Load(string path) =>
        LLamaWeights.LoadFromFile(new ModelParams(path) { VocabOnly = true, GpuLayerCount = 0 });

    /// <summary>llama.cpp's ids for <paramref name="text"/> (no BOS).</summary>
    public static int[] Tokenize(LLamaWeights weights, string text, bool parseSpecial = false) =>
        weights.Tokenize(text, false, parseSpecial, System.Text.Encoding.UTF8).Select(t => (int)t).ToArray();
}
