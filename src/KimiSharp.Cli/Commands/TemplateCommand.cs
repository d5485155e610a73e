using System.CommandLine;
using System.Text;
using System.Text.Json;
using KimiSharp.Chat;

namespace KimiSharp.Cli.Commands;

/// <summary><c>kimi template render --template FILE.jinja --context FILE.json</c>: prints exactly the rendered
/// text (nothing appended) or a one-line error with exit code 1.</summary>
public static class TemplateCommand
{
    public static Command Create()
    {
        var command = new Command("template", "Chat template tools (render a Jinja template with a JSON context)");
        var templateOption = new Option<FileInfo>("--template") { Description = "Jinja template file", Required = true };
        var contextOption = new Option<FileInfo>("--context") { Description = "JSON object with the template variables (messages, tools, add_generation_prompt …)", Required = true };
        var mutableOption = new Option<bool>("--allow-mutation")
        {
            Description = "Allow list/dict mutation (append, pop …) as llama.cpp does; default is Hugging Face's immutable sandbox",
        };
        var render = new Command("render", "Render a template exactly as Python's Jinja2 does with Hugging Face's settings");
        render.Options.Add(templateOption);
        render.Options.Add(contextOption);
        render.Options.Add(mutableOption);
        render.SetAction(parse => CliErrors.Guard(() =>
        {
            string text = Render(parse.GetValue(templateOption)!.FullName, parse.GetValue(contextOption)!.FullName, parse.GetValue(mutableOption));
            using var stdout = Console.OpenStandardOutput();
            stdout.Write(new UTF8Encoding(false).GetBytes(text));
            stdout.Flush();
            return 0;
        }));
        command.Subcommands.Add(render);
        return command;
    }

    /// <summary>Renders <paramref name="templatePath"/> with the JSON object in <paramref name="contextPath"/>.</summary>
    public static string Render(string templatePath, string contextPath, bool allowMutation = false)
    {
        string source = File.ReadAllText(templatePath, Encoding.UTF8);
        using var doc = JsonDocument.Parse(File.ReadAllText(contextPath, Encoding.UTF8));
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{contextPath}: the context must be a JSON object");
        var options = allowMutation ? JinjaOptions.Permissive : JinjaOptions.HuggingFace;
        return JinjaTemplate.Parse(source, options).Render(doc.RootElement);
    }
}
