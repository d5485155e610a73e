using KimiSharp.Conformance.LlamaCpp;
using KimiSharp.Conformance.Models;
using KimiSharp.Models.DeepSeek2;
using KimiSharp.Quants;
using KimiSharp.TestModels;
using KimiSharp.Text;
using Xunit.Abstractions;

namespace KimiSharp.Conformance;

/// <summary>
/// A Kimi-K2-shaped file at the real dimensions (hidden 7168, 64 heads, vocab 163,840, expert FFN 2048, dense FFN
/// 18,432), cut to 2 layers and 8 experts and written in IQ2_XXS from random blocks (≈0.9 GB), once for the class.
/// </summary>
public sealed class KimiK2File : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kimisharp-k2-" + Guid.NewGuid().ToString("N"));

    public KimiK2File()
    {
        Directory.CreateDirectory(_dir);
        Path_ = System.IO.Path.Combine(_dir, "kimi-k2-2l-8e-iq2_xxs.gguf");
        TestModelWriter.Write(TestModelSpec.KimiK2.Resized(layers: 2, experts: 8) with { Type = GgmlType.IQ2_XXS }, Path_);
    }

    public string Path_ { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>llama.cpp loads our Kimi-K2-shaped file, tokenizes with Kimi's special ids, and agrees with our forward pass.</summary>
public class KimiK2ShapeLoadTests(KimiK2File file, ITestOutputHelper output) : IClassFixture<KimiK2File>
{
    private const int Threads = 2;

    [Fact]
    public void LlamaCpp_loads_the_kimi_k2_shape_with_kimis_vocabulary_and_special_ids()
    {
        using var llama = LlamaReference.Load(file.Path_, contextSize: 32, threads: Threads);
        Assert.Equal(KimiVocabulary.Size, llama.VocabSize);
        Assert.Equal([KimiVocabulary.ImEndId], llama.Tokenize("<|im_end|>", parseSpecial: true));
        Assert.Equal([163_597], llama.Tokenize("<|tool_call_begin|>", parseSpecial: true));
        var ours = Tokenizer.Create(KimiVocabulary.Build());
        const string text = "<|im_user|>user<|im_middle|>What is 2 + 2? 你好<|im_end|>";
        Assert.Equal(ours.Encode(text, parseSpecial: true), llama.Tokenize(text, parseSpecial: true));
    }

    [Fact]
    public void Our_exact_forward_agrees_with_llama_cpp_on_the_kimi_k2_shape()
    {
        int[] tokens = [KimiVocabulary.BosId, 17, 300, 4242, 100_000, 163_000, 5, KimiVocabulary.ImEndId];
        float[][] reference;
        using (var llama = LlamaReference.Load(file.Path_, contextSize: 32, threads: Threads))
            reference = llama.EvaluateAll(tokens);
        Assert.All(reference, row => Assert.All(row, v => Assert.True(float.IsFinite(v))));
        Assert.NotEqual(reference[0], reference[^1]);

        using var model = DeepSeek2Model.Load(file.Path_, new ModelOptions(Threads, Exact: true));
        Assert.Equal(KimiVocabulary.Size, model.VocabSize);
        var ours = new float[tokens.Length * model.VocabSize];
        using (var session = model.CreateSession(tokens.Length))
            session.ForwardAll(tokens, ours);
        var r = LogitComparison.Compare(reference, ours, model.VocabSize);
        output.WriteLine($"kimi-k2 2 layers 8 experts IQ2_XXS, {tokens.Length} tokens: {r}");
        Assert.True(r.ArgmaxAgreement >= 0.95 && r.MeanKl <= 1e-2, r.ToString());
    }
}
