using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class DetokenizeCommand
{
    public static Command Create()
    {
        var command = new Command("detokenize", "Turn token ids back into text");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'detokenize' is not implemented yet")));
        return command;
    }
}
