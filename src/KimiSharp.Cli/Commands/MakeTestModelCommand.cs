using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class MakeTestModelCommand
{
    public static Command Create()
    {
        var command = new Command("make-test-model", "Write a small random-weight deepseek2 GGUF for tests, benchmarks and the demo");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'make-test-model' is not implemented yet")));
        return command;
    }
}
