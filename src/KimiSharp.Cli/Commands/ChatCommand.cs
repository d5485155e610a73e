using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;

namespace KimiSharp.Cli.Commands;

public static class ChatCommand
{
    public static Command Create()
    {
        var command = new Command("chat", "Interactive multi-turn chat in the terminal");
        var system = new Option<string?>("--system") { Description = "System prompt" };
        var options = new GenerationOptions();
        command.Options.Add(system);
        options.AddTo(command);
        command.SetAction((result, ct) => CliErrors.GuardAsync(async () =>
        {
            string? modelPath = result.GetValue(options.Model);
            int threads = options.ThreadCount(result);
            var settings = new ChatSettings(result.GetValue(system), options.Sampling(result), options.MaxTokens(result),
                options.ContextLength(result), result.GetValue(options.Verbose));
            using var model = Load(modelPath, threads, result.GetValue(options.Exact));
            var repl = new ChatRepl(model, settings, Console.In, Console.Out, Console.Error);
            ConsoleCancelEventHandler onCancel = (_, e) => e.Cancel = repl.CancelAnswer(); // Ctrl-C at the prompt still exits
            Console.CancelKeyPress += onCancel;
            try
            {
                return await repl.RunAsync(ct);
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }));
        return command;
    }

    /// <summary>Loads with a spinner on an interactive terminal, plain lines otherwise; prints what was loaded.</summary>
    private static LocalModel Load(string? path, int threads, bool exact)
    {
        var watch = Stopwatch.StartNew();
        LocalModel? model = null;
        string label = path is null ? "demo model" : Path.GetFileName(path);
        if (!Console.IsOutputRedirected && !Console.IsErrorRedirected)
            AnsiConsole.Status().Start($"Loading {Markup.Escape(label)}…", _ => model = LocalModel.Open(path, threads, Console.Error, exact: exact));
        else
            model = LocalModel.Open(path, threads, Console.Error, exact: exact);
        Console.Error.WriteLine($"loaded {model!.Path} in {watch.Elapsed.TotalSeconds:F1} s");
        return model;
    }
}
