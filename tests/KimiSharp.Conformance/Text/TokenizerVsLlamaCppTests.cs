using KimiSharp.Tests.Text;
using KimiSharp.Text;
using Xunit.Abstractions;

namespace KimiSharp.Conformance.Text;

/// <summary>Our tokenizer against llama.cpp's (LLamaSharp) on the same GGUF vocabularies.</summary>
public sealed class TokenizerVsLlamaCppTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kimisharp-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IEnumerable<(string Name, string Text)> Corpus()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Text", "Golden", "corpus");
        return Directory.GetFiles(dir, "*.txt").Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), File.ReadAllText(f, new System.Text.UTF8Encoding(false))));
    }

    public static TheoryData<string> LlamaCppPreTokenizers() =>
        new("deepseek-v3", "deepseek-llm", "deepseek-coder", "falcon", "starcoder", "gpt-2", "default");

    /// <summary>The pre-tokenizers we implement the llama.cpp way give llama.cpp's ids on the whole corpus (o200k ranks).</summary>
    [Theory]
    [MemberData(nameof(LlamaCppPreTokenizers))]
    public void Pre_tokenizer_matches_llama_cpp_on_the_whole_corpus(string pre)
    {
        var data = O200kVocabulary.KimiK2 with { Pre = pre };
        string path = Path.Combine(_dir, $"o200k-{pre}.gguf");
        LlamaVocabFile.Write(data, path);
        using var llama = LlamaVocabFile.Load(path);
        var ours = Tokenizer.Create(data);
        var failures = new List<string>();
        foreach (var (name, text) in Corpus())
        {
            int[] l = LlamaVocabFile.Tokenize(llama, text), o = ours.Encode(text);
            int same = l.Zip(o).TakeWhile(p => p.First == p.Second).Count();
            if (!l.SequenceEqual(o))
            {
                string Show(int[] ids) => string.Join("|", ids.Skip(Math.Max(0, same - 2)).Take(6)
                    .Select(id => System.Text.Json.JsonSerializer.Serialize(System.Text.Encoding.UTF8.GetString(ours.TokenBytes(id)))));
                failures.Add($"{name}: first difference at #{same}\n  llama.cpp: {Show(l)}\n  ours:      {Show(o)}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void TestVocabulary_tokenizes_like_llama_cpp_with_special_tokens()
    {
        var data = TestVocabulary.Build();
        string path = Path.Combine(_dir, "test-vocab.gguf");
        LlamaVocabFile.Write(data, path);
        using var llama = LlamaVocabFile.Load(path);
        var ours = Tokenizer.Create(data);
        Assert.Equal(data.Tokens.Length, llama.Vocab.Count);
        string chat = "<|im_system|>system<|im_middle|>You are Kimi.<|im_end|><|im_user|>user<|im_middle|>What's the weather?<|im_end|>" +
                      "<|im_assistant|>assistant<|im_middle|><|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0" +
                      "<|tool_call_argument_begin|>{\"city\": \"北京\"}<|tool_call_end|><|tool_calls_section_end|><|im_end|>";
        Assert.Equal(LlamaVocabFile.Tokenize(llama, chat, parseSpecial: true), ours.Encode(chat, parseSpecial: true));
        foreach (string plain in new[] { "Hello world", "the quick brown fox", "今天天气很好", "  \r\n x  y", "12345 3.14" })
            Assert.Equal(LlamaVocabFile.Tokenize(llama, plain), ours.Encode(plain));
    }

    /// <summary>
    /// Kimi's pre-tokenizer: llama.cpp's kimi-k2 handler deviates from Moonshot's tiktoken pattern; we follow tiktoken
    /// (TiktokenGoldenTests prove it on the corpus). Here: llama.cpp splits these differently from us, and on the
    /// corpus files without such cases both agree.
    /// </summary>
    [Fact]
    public void KimiK2_differs_from_llama_cpp_only_where_llama_cpp_deviates_from_tiktoken()
    {
        var data = O200kVocabulary.KimiK2;
        string path = Path.Combine(_dir, "o200k-kimi-k2.gguf");
        LlamaVocabFile.Write(data, path);
        using var llama = LlamaVocabFile.Load(path);
        var ours = O200kVocabulary.KimiK2Tokenizer;

        // Combining marks are letters in tiktoken's classes, word breaks in llama.cpp's handler.
        foreach (string text in new[] { "हिन्दी भाषाएँ बोली जाती हैं", "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ" })
        {
            int[] l = LlamaVocabFile.Tokenize(llama, text), o = ours.Encode(text);
            output.WriteLine($"{text}: llama.cpp [{string.Join(' ', l)}] ours [{string.Join(' ', o)}]");
            Assert.NotEqual(l, o);
        }
        // camelCase and Han-range differences change pieces, but these o200k tokens never cross those boundaries.
        foreach (string text in new[] { "hello world", "helloWorld", "JavaScript", "HELLOworld", "中文abc", "時々", "it's IT'S", "  \r\n  x", "12345" })
            Assert.Equal(LlamaVocabFile.Tokenize(llama, text), ours.Encode(text));

        foreach (var (name, text) in Corpus())
        {
            int[] l = LlamaVocabFile.Tokenize(llama, text), o = ours.Encode(text);
            int same = l.Zip(o).TakeWhile(p => p.First == p.Second).Count();
            output.WriteLine($"{name}: llama.cpp {l.Length} ids, ours {o.Length}, identical: {l.SequenceEqual(o)} (first {same} agree)");
            if (name is "english.txt" or "code.txt" or "emoji.txt" or "whitespace.txt") Assert.Equal(l, o); // no combining marks
            if (same < Math.Min(l.Length, o.Length))
            {
                string Show(int[] ids) => string.Join("|", ids.Skip(Math.Max(0, same - 2)).Take(6).Select(id => System.Text.Encoding.UTF8.GetString(ours.TokenBytes(id))));
                output.WriteLine($"   llama.cpp: {Show(l)}\n   ours:      {Show(o)}");
            }
        }
    }
}
