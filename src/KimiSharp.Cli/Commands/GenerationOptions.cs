using System.CommandLine;
using KimiSharp.Sampling;

namespace KimiSharp.Cli.Commands;

/// <summary>The model and sampling flags shared by run, chat and bench (llama.cpp's names where they exist).</summary>
internal sealed class GenerationOptions
{
    public Option<string?> Model { get; } = new("--model", "-m") { Description = "GGUF file (any part of a split set); default: the built-in demo model (random weights)" };
    public Option<float> Temperature { get; } = new("--temp") { Description = "Temperature; 0 = greedy", DefaultValueFactory = _ => SamplingParams.Default.Temperature };
    public Option<float> TopP { get; } = new("--top-p") { Description = "Nucleus sampling; 1 = off", DefaultValueFactory = _ => 1f };
    public Option<int> TopK { get; } = new("--top-k") { Description = "Top-k sampling; 0 = off", DefaultValueFactory = _ => 0 };
    public Option<float> MinP { get; } = new("--min-p") { Description = "Min-p sampling; 0 = off", DefaultValueFactory = _ => 0f };
    public Option<float> RepeatPenalty { get; } = new("--repeat-penalty") { Description = "Repetition penalty over the last 64 tokens; 1 = off", DefaultValueFactory = _ => 1f };
    public Option<ulong?> Seed { get; } = new("--seed", "-s") { Description = "Random seed (default: random)" };
    public Option<int> Predict { get; } = new("-n", "--n-predict") { Description = "Most tokens to generate; -1 = until the end of the answer or the context", DefaultValueFactory = _ => -1 };
    public Option<int> Context { get; } = new("--ctx", "-c") { Description = "Context length in tokens (prompt + answer)", DefaultValueFactory = _ => 4096 };
    public Option<int> Threads { get; } = new("--threads", "-t") { Description = "Worker threads", DefaultValueFactory = _ => Environment.ProcessorCount };
    public Option<bool> Verbose { get; } = new("--verbose", "-v") { Description = "Print timings to stderr" };
    public Option<bool> Exact { get; } = ExactOption.Create();

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { Model, Temperature, TopP, TopK, MinP, RepeatPenalty, Seed, Predict, Context, Threads, Verbose, Exact })
            command.Options.Add(option);
    }

    public SamplingParams Sampling(ParseResult result) => new()
    {
        Temperature = result.GetValue(Temperature),
        TopP = result.GetValue(TopP),
        TopK = result.GetValue(TopK),
        MinP = result.GetValue(MinP),
        RepetitionPenalty = result.GetValue(RepeatPenalty),
        Seed = result.GetValue(Seed),
    };

    public int? MaxTokens(ParseResult result) => result.GetValue(Predict) is var n && n >= 0 ? n : null;

    public int ThreadCount(ParseResult result) =>
        result.GetValue(Threads) is var t && t >= 1 ? t : throw new ArgumentException($"--threads must be >= 1 (got {t})");

    public int ContextLength(ParseResult result) =>
        result.GetValue(Context) is var c && c >= 2 ? c : throw new ArgumentException($"--ctx must be >= 2 (got {c})");
}
