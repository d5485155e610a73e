using KimiSharp.Sampling;

namespace KimiSharp.Tests.Sampling;

public class SamplerTests
{
    private static float[] RandomLogits(int n, int seed, float scale = 3f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    [Fact]
    public void Greedy_returns_argmax_when_temperature_is_zero()
    {
        for (int trial = 0; trial < 50; trial++)
        {
            var logits = RandomLogits(1000, trial);
            int expected = Array.IndexOf(logits, logits.Max());
            var sampler = new Sampler(SamplingParams.Greedy, logits.Length);
            Assert.Equal(expected, sampler.Sample(logits));
        }
    }

    [Fact]
    public void Greedy_picks_lowest_id_when_logits_tie()
    {
        float[] logits = [0f, 2f, 1f, 2f];
        Assert.Equal(1, new Sampler(SamplingParams.Greedy, 4).Sample(logits));
    }

    [Fact]
    public void Sample_does_not_modify_the_logits()
    {
        var logits = RandomLogits(50, 1);
        var copy = logits.ToArray();
        new Sampler(new SamplingParams { TopK = 5, RepetitionPenalty = 1.3f, Seed = 1 }, 50).Sample(logits);
        Assert.Equal(copy, logits);
    }

    [Fact]
    public void Same_seed_gives_same_tokens_when_run_twice()
    {
        var p = new SamplingParams { Temperature = 1.0f, TopP = 0.9f, Seed = 1234 };
        var a = new Sampler(p, 300);
        var b = new Sampler(p, 300);
        var tokensA = new List<int>();
        var tokensB = new List<int>();
        for (int step = 0; step < 100; step++)
        {
            var logits = RandomLogits(300, step, 1f);
            int ta = a.Sample(logits), tb = b.Sample(logits);
            a.Accept(ta);
            b.Accept(tb);
            tokensA.Add(ta);
            tokensB.Add(tb);
        }
        Assert.Equal(tokensA, tokensB);
        Assert.True(tokensA.Distinct().Count() > 10, "flat logits at temperature 1 should give varied tokens");

        var other = new Sampler(p with { Seed = 1235 }, 300);
        var tokensC = Enumerable.Range(0, 100).Select(step => other.Sample(RandomLogits(300, step, 1f))).ToList();
        Assert.NotEqual(tokensA, tokensC);
    }

    public static TheoryData<string, float, int, float, float> FilterCases => new()
    {
        { "temperature only", 1.0f, 0, 1f, 0f },
        { "low temperature", 0.6f, 0, 1f, 0f },
        { "top-k", 1.0f, 3, 1f, 0f },
        { "top-p", 0.8f, 0, 0.7f, 0f },
        { "min-p", 1.0f, 0, 1f, 0.2f },
        { "top-k then top-p then min-p", 1.3f, 5, 0.9f, 0.05f },
    };

    [Theory]
    [MemberData(nameof(FilterCases))]
    public void Draws_over_many_seeds_match_the_filtered_softmax(string name, float temperature, int topK, float topP, float minP)
    {
        float[] logits = [1.2f, 0.3f, -0.5f, 2.0f, 0.9f, -1.5f, 0.0f, 1.6f];
        var p = new SamplingParams { Temperature = temperature, TopK = topK, TopP = topP, MinP = minP };
        double[] expected = ReferenceSampling.Distribution(logits, p);

        const int draws = 20000;
        var counts = new int[logits.Length];
        for (int seed = 0; seed < draws; seed++)
            counts[new Sampler(p with { Seed = (ulong)seed }, logits.Length).Sample(logits)]++;

        for (int i = 0; i < logits.Length; i++)
        {
            double observed = counts[i] / (double)draws;
            if (expected[i] == 0)
            {
                Assert.True(counts[i] == 0, $"{name}: token {i} is filtered out but was drawn {counts[i]} times");
                continue;
            }
            // Within 5 standard deviations of the binomial proportion.
            double sigma = Math.Sqrt(expected[i] * (1 - expected[i]) / draws);
            Assert.True(Math.Abs(observed - expected[i]) <= 5 * sigma + 1e-9,
                $"{name}: token {i} drawn {observed:F4}, expected {expected[i]:F4} (±{5 * sigma:F4})");
        }
    }

    [Fact]
    public void Top_p_on_a_large_vocabulary_draws_only_from_the_nucleus()
    {
        // Peaked like a language model's: a few hundred plausible tokens, a long tail.
        var rng = new Random(7);
        var logits = Enumerable.Range(0, 20000).Select(_ => 14f * MathF.Pow((float)rng.NextDouble(), 16)).ToArray();
        var p = new SamplingParams { Temperature = 1f, TopP = 0.5f };
        double[] expected = ReferenceSampling.Distribution(logits, p);
        int nucleus = expected.Count(x => x > 0);
        Assert.InRange(nucleus, 5, 19000);
        var seen = new HashSet<int>();
        var sampler = new Sampler(p with { Seed = 3 }, logits.Length);
        for (int draw = 0; draw < 500; draw++)
            seen.Add(sampler.Sample(logits));
        Assert.All(seen, t => Assert.True(expected[t] > 0, $"token {t} is outside the nucleus"));
        Assert.True(seen.Count > 1);
    }

    [Fact]
    public void Logit_bias_of_negative_infinity_bans_a_token()
    {
        float[] logits = [5f, 1f, 0f];
        var p = SamplingParams.Greedy with { LogitBias = new Dictionary<int, float> { [0] = float.NegativeInfinity } };
        Assert.Equal(1, new Sampler(p, 3).Sample(logits));
        var pr = new SamplingParams { Temperature = 1f, LogitBias = new Dictionary<int, float> { [0] = float.NegativeInfinity } };
        for (int seed = 0; seed < 200; seed++)
            Assert.NotEqual(0, new Sampler(pr with { Seed = (ulong)seed }, 3).Sample(logits));
    }

    [Fact]
    public void Logit_bias_that_excludes_everything_is_a_clear_error()
    {
        var p = SamplingParams.Greedy with { LogitBias = new Dictionary<int, float> { [0] = float.NegativeInfinity, [1] = float.NegativeInfinity } };
        var e = Assert.Throws<InvalidOperationException>(() => new Sampler(p, 2).Sample([1f, 2f]));
        Assert.Contains("logit_bias", e.Message);
    }

    [Fact]
    public void Presence_and_frequency_penalties_lower_seen_tokens()
    {
        float[] logits = [1.0f, 0.6f, 0.0f];
        var presence = new Sampler(SamplingParams.Greedy with { PresencePenalty = 0.5f }, 3);
        Assert.Equal(0, presence.Sample(logits));
        presence.Accept(0);
        Assert.Equal(1, presence.Sample(logits)); // 1.0 - 0.5 < 0.6

        var frequency = new Sampler(SamplingParams.Greedy with { FrequencyPenalty = 0.3f }, 3);
        frequency.Accept(0);
        Assert.Equal(0, frequency.Sample(logits)); // 1.0 - 0.3 > 0.6
        frequency.Accept(0);
        Assert.Equal(1, frequency.Sample(logits)); // 1.0 - 0.6 < 0.6
    }

    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits()
    {
        var sampler = new Sampler(SamplingParams.Greedy with { RepetitionPenalty = 2f }, 3);
        sampler.Accept(0);
        Assert.Equal(1, sampler.Sample([1.0f, 0.6f, 0.0f])); // 1.0 / 2 < 0.6
        var negative = new Sampler(SamplingParams.Greedy with { RepetitionPenalty = 2f }, 3);
        negative.Accept(0);
        Assert.Equal(1, negative.Sample([-0.4f, -0.6f, -5f])); // -0.4 * 2 < -0.6
    }

    [Fact]
    public void Penalties_forget_tokens_that_left_the_window()
    {
        var sampler = new Sampler(SamplingParams.Greedy with { PresencePenalty = 1f, PenaltyWindow = 2 }, 3);
        float[] logits = [1.0f, 0.6f, 0.0f];
        sampler.Accept(0);
        Assert.Equal(1, sampler.Sample(logits));
        sampler.Accept(2);
        sampler.Accept(2);
        Assert.Equal(0, sampler.Sample(logits));
    }

    [Theory]
    [InlineData("Temperature")]
    [InlineData("TopP")]
    [InlineData("MinP")]
    [InlineData("TopK")]
    [InlineData("LogitBias")]
    public void Validate_names_the_bad_field(string field)
    {
        var p = field switch
        {
            "Temperature" => new SamplingParams { Temperature = -1f },
            "TopP" => new SamplingParams { TopP = 0f },
            "MinP" => new SamplingParams { MinP = 1.5f },
            "TopK" => new SamplingParams { TopK = -2 },
            _ => new SamplingParams { LogitBias = new Dictionary<int, float> { [99] = 1f } },
        };
        var e = Assert.Throws<ArgumentException>(() => p.Validate(10));
        Assert.Equal(field, e.ParamName);
    }

    [Fact]
    public void Defaults_follow_moonshot_guidance()
    {
        var p = SamplingParams.Default;
        Assert.Equal(0.6f, p.Temperature);
        Assert.Equal(1f, p.TopP);
        Assert.Equal(0, p.TopK);
        Assert.Equal(0f, p.MinP);
        Assert.Equal(1f, p.RepetitionPenalty);
    }
}
