using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class TokenizeCommand
{
    public static Command Create()
    {
        var command = new Command("tokenize", "Turn text into token ids with a model's tokenizer");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'tokenize' is not implemented yet")));
        return command;
    }
}
