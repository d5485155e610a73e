using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class InspectCommand
{
    public static Command Create()
    {
        var command = new Command("inspect", "Show a GGUF file's architecture, hyperparameters, tensor types and tokenizer");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'inspect' is not implemented yet")));
        return command;
    }
}
