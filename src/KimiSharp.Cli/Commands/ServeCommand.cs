using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Serve a model over OpenAI- and Anthropic-compatible HTTP APIs");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'serve' is not implemented yet")));
        return command;
    }
}
