using System.Globalization;

namespace KimiSharp.Cli.Bench;

/// <summary>
/// What <c>kimi bench</c> was told, llama-bench style: every -p value is a prompt-processing test and every -n value a
/// generation test, each run at every depth -d and sequence count -np.
/// </summary>
internal sealed record BenchSettings(
    IReadOnlyList<int> Prompts,
    IReadOnlyList<int> Generates,
    IReadOnlyList<int> Depths,
    IReadOnlyList<int> Parallels,
    int Repetitions,
    int Threads)
{
    public void Validate()
    {
        if (Prompts.Any(p => p < 0) || Generates.Any(n => n < 0)) throw new ArgumentException("-p and -n must be >= 0");
        if (Depths.Any(d => d < 0)) throw new ArgumentException("-d must be >= 0");
        if (Parallels.Any(np => np < 1)) throw new ArgumentException("-np must be >= 1");
        if (Repetitions < 1) throw new ArgumentException($"-r must be >= 1 (got {Repetitions})");
        if (Threads < 1) throw new ArgumentException($"--threads must be >= 1 (got {Threads})");
        if (Tests().Count == 0) throw new ArgumentException("nothing to measure: every -p and -n is 0");
    }

    /// <summary>
    /// The tests in run order: for each depth and sequence count, the pp tests then the tg tests. pp runs one sequence
    /// whatever -np says, so it is measured once per depth (with the first -np value).
    /// </summary>
    public IReadOnlyList<BenchTest> Tests() =>
    [
        .. from d in Depths
           from np in Parallels.Distinct()
           from test in Prompts.Where(p => p > 0 && np == Parallels[0]).Select(p => new BenchTest(p, 0, d, np))
               .Concat(Generates.Where(n => n > 0).Select(n => new BenchTest(0, n, d, np)))
           select test,
    ];

    /// <summary>"512,1024" → [512, 1024] (llama-bench's comma lists).</summary>
    public static int[] ParseList(string text, string flag)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new ArgumentException($"{flag} needs a number or a comma-separated list");
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out values[i]))
                throw new ArgumentException($"{flag}: '{parts[i]}' is not an integer");
        return values;
    }
}

/// <summary>One test: pp (<paramref name="P"/> tokens in one forward call) or tg (<paramref name="N"/> single-token
/// steps), after <paramref name="D"/> tokens of context, with <paramref name="Np"/> sequences (tg steps them together).</summary>
internal readonly record struct BenchTest(int P, int N, int D, int Np)
{
    public bool IsPrompt => P > 0;

    /// <summary>Tokens one repetition processes (all sequences together for tg).</summary>
    public int Tokens => IsPrompt ? P : N * Np;

    /// <summary>llama-bench's names, as ../shared/llama-bench prints them: "pp512", "tg128 @ d4096 x4".</summary>
    public string Name => (IsPrompt ? $"pp{P}" : $"tg{N}") + (D > 0 ? $" @ d{D}" : "") + (!IsPrompt && Np > 1 ? $" x{Np}" : "");
}
