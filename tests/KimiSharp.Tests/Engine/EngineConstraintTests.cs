using KimiSharp.Engine;
using KimiSharp.Sampling;

namespace KimiSharp.Tests.Engine;

/// <summary>The engine's constrained-decoding hook: BeginMask before the forward, ApplyMask before sampling, Accept after.</summary>
public class EngineConstraintTests
{
    private const int Eos = 0, A = 1, B = 2, X = 3;
    private static readonly FakeVocabulary Vocab = FakeVocabulary.FromStrings(["<eos>", "a", "b", "x"], Eos);

    /// <summary>Allows exactly one token per position from a script, and records the call order.</summary>
    private sealed class ScriptConstraint(params int[] allowed) : ITokenConstraint
    {
        public List<string> Calls { get; } = [];
        private int _position;

        public void BeginMask() => Calls.Add("begin");

        public void ApplyMask(Span<float> logits)
        {
            Calls.Add("apply");
            for (int i = 0; i < logits.Length; i++)
                if (i != allowed[_position]) logits[i] = float.NegativeInfinity;
        }

        public void Accept(int token)
        {
            Calls.Add($"accept {token}");
            Assert.Equal(allowed[_position++], token);
        }
    }

    [Fact]
    public async Task Constraint_mask_overrides_the_model_and_sees_every_sampled_token()
    {
        // The model always wants "x"; the constraint allows only a, b, then end of generation.
        var model = new ScriptedLanguageModel(4, _ => X);
        var constraint = new ScriptConstraint(A, B, Eos);
        using var engine = new InferenceEngine(model, Vocab, new EngineOptions { PrefixCaching = false });
        var tokens = new List<int>();
        FinishEvent? finish = null;
        await foreach (var e in engine.GenerateAsync(new GenerationRequest([A, A]) { Sampling = SamplingParams.Greedy, Constraint = constraint }))
        {
            if (e is TokenEvent t) tokens.Add(t.TokenId);
            if (e is FinishEvent f) finish = f;
        }
        Assert.Equal([A, B], tokens);
        Assert.Equal(FinishReason.Stop, finish!.Reason);
        Assert.Equal(["begin", "apply", "accept 1", "begin", "apply", "accept 2", "begin", "apply", "accept 0"], constraint.Calls);
    }
}
