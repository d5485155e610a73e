using KimiSharp.Gguf;
using KimiSharp.Text;
using Xunit.Abstractions;

namespace KimiSharp.Tests.Text;

/// <summary>
/// llama.cpp's tokenizer test vectors (models/ggml-vocab-*.gguf with .inp/.out, as test-tokenizer-0 uses them) for the
/// pre-tokenizers we implement the llama.cpp way. Reads ../shared/reference/vocab; skips with a message without it.
/// </summary>
public class LlamaVocabTestVectorTests(ITestOutputHelper output)
{
    public static TheoryData<string> Vocabularies() =>
        new("gpt-2", "deepseek-llm", "deepseek-coder", "falcon", "starcoder");

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void Encode_matches_llama_cpp_test_vectors_when_given_vocab(string name)
    {
        if (SharedReference.Directory is null)
        {
            output.WriteLine("SKIPPED: ../shared/reference is absent, so llama.cpp's vocab test vectors cannot be read");
            return;
        }
        string gguf = Path.Combine(SharedReference.Directory, "vocab", $"ggml-vocab-{name}.gguf");
        string[] inputs = File.ReadAllText(gguf + ".inp").Split("\n__ggml_vocab_test__\n");
        string[] outputs = File.ReadAllText(gguf + ".out").Split('\n');
        Assert.True(inputs.Length > 40, $"{inputs.Length} cases");

        using var file = GgufFile.Open(gguf);
        var tokenizer = Tokenizer.FromGguf(file.Metadata);

        var failures = new List<string>();
        for (int i = 0; i < inputs.Length - 1; i++) // the .inp ends with a separator, so the last part is empty
        {
            int[] expected = outputs[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            int[] actual = tokenizer.Encode(inputs[i]);
            if (!expected.SequenceEqual(actual))
                failures.Add($"case {i} {System.Text.Json.JsonSerializer.Serialize(inputs[i])}: expected [{string.Join(' ', expected)}] got [{string.Join(' ', actual)}]");
        }
        Assert.True(failures.Count == 0, $"{name} (pre '{file.Metadata.GetString("tokenizer.ggml.pre", "default")}'):\n" + string.Join('\n', failures));
    }
}
