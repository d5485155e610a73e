using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class RunCommand
{
    public static Command Create()
    {
        var command = new Command("run", "Generate a reply to one prompt and stream it to stdout");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'run' is not implemented yet")));
        return command;
    }
}
