using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class ChatCommand
{
    public static Command Create()
    {
        var command = new Command("chat", "Interactive multi-turn chat in the terminal");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'chat' is not implemented yet")));
        return command;
    }
}
