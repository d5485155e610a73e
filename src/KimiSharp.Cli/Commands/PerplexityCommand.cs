using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class PerplexityCommand
{
    public static Command Create()
    {
        var command = new Command("perplexity", "Measure perplexity over a text file, like llama-perplexity");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'perplexity' is not implemented yet")));
        return command;
    }
}
