using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Measure prompt and generation speed");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'bench' is not implemented yet")));
        return command;
    }
}
