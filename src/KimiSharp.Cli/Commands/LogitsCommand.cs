using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class LogitsCommand
{
    public static Command Create()
    {
        var command = new Command("logits", "Write the logits of every position for a token sequence");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'logits' is not implemented yet")));
        return command;
    }
}
