using System.CommandLine;

namespace KimiSharp.Cli.Commands;

/// <summary>
/// <c>--exact</c>, shared by logits, perplexity, bench, run, chat and serve: llama.cpp's exact summation order
/// (<see cref="KimiSharp.Models.DeepSeek2.ModelOptions.Exact"/>) instead of the fastest paths.
/// </summary>
internal static class ExactOption
{
    public const string Description =
        "Sum in llama.cpp's exact order (flash attention off, F32 KV cache order): logits bit-identical to llama.cpp's " +
        "wherever its kernels are reproduced; by default the fastest paths run, held to the accuracy of llama.cpp's own defaults";

    public static Option<bool> Create() => new("--exact") { Description = Description };
}
