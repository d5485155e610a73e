using System.CommandLine;

namespace KimiSharp.Cli.Commands;

public static class TemplateCommand
{
    public static Command Create()
    {
        var command = new Command("template", "Chat template tools (render a Jinja template with a JSON context)");
        command.SetAction(_ => CliErrors.Guard(() => throw new NotSupportedException("'template' is not implemented yet")));
        return command;
    }
}
