using System.CommandLine;
using KimiSharp.Cli.Commands;

namespace KimiSharp.Cli;

public static class Program
{
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();

    /// <summary>The whole command tree; each command lives in its own file under Commands/.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("KimiSharp: run Kimi-K2 and other deepseek2 GGUF models, serve them over OpenAI/Anthropic APIs");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(PullCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(MakeTestModelCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(DetokenizeCommand.Create());
        root.Subcommands.Add(TemplateCommand.Create());
        root.Subcommands.Add(LogitsCommand.Create());
        root.Subcommands.Add(PerplexityCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        return root;
    }
}
