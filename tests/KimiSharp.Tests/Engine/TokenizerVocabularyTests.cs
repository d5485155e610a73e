using KimiSharp.Engine;
using KimiSharp.Sampling;
using KimiSharp.Text;

namespace KimiSharp.Tests.Engine;

public class TokenizerVocabularyTests
{
    [Fact]
    public async Task Engine_with_the_test_tokenizer_streams_text_and_stops_at_im_end()
    {
        var tokenizer = Tokenizer.Create(TestVocabulary.Build());
        Assert.True(tokenizer.TryGetId("<|im_end|>", out int imEnd));
        int[] answer = [.. tokenizer.Encode("Héllo wörld €"), imEnd];
        int[] prompt = tokenizer.Encode("<|im_user|>user<|im_middle|>hi<|im_end|><|im_assistant|>assistant<|im_middle|>", parseSpecial: true);
        var model = new ScriptedLanguageModel(tokenizer.VocabSize, t => answer[Math.Min(t.Count - prompt.Length, answer.Length - 1)]);
        using var engine = new InferenceEngine(model, tokenizer, new EngineOptions());

        var text = new System.Text.StringBuilder();
        FinishEvent? finish = null;
        await foreach (var e in engine.GenerateAsync(new GenerationRequest(prompt) { Sampling = SamplingParams.Greedy }))
        {
            if (e is TokenEvent t) text.Append(t.TextDelta);
            else if (e is TextEvent x) text.Append(x.TextDelta);
            else finish = (FinishEvent)e;
        }
        Assert.Equal("Héllo wörld €", text.ToString());
        Assert.Equal(FinishReason.Stop, finish!.Reason);
        Assert.Equal(imEnd, finish.StopTokenId);
        Assert.Contains(imEnd, tokenizer.EndOfGenerationIds);
    }
}
