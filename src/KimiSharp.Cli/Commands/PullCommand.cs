using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class PullCommand
{
    public static Command Create()
    {
        var command = new Command("pull", "Download a GGUF model (all split parts) from the Hugging Face hub");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'pull' is not implemented yet")));
        return command;
    }
}
