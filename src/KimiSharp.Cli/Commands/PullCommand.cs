using System.CommandLine;
using KimiSharp.Demo;
using KimiSharp.Hub;
using Spectre.Console;

namespace KimiSharp.Cli.Commands;

public static class PullCommand
{
    public static Command Create()
    {
        var command = new Command("pull", "Download a GGUF model (all split parts) from the Hugging Face hub");
        var reference = new Argument<string>("model") { Description = "REPO[:QUANT], e.g. unsloth/Kimi-K2-Instruct-0905-GGUF:UD-Q2_K_XL" };
        var dir = new Option<string?>("--dir") { Description = "Download directory (default: the KimiSharp cache, models/OWNER/NAME)" };
        var parallel = new Option<int>("--parallel") { Description = "Files downloaded at once", DefaultValueFactory = _ => 4 };
        var revision = new Option<string>("--revision") { Description = "Branch, tag or commit", DefaultValueFactory = _ => "main" };
        command.Arguments.Add(reference);
        command.Options.Add(dir);
        command.Options.Add(parallel);
        command.Options.Add(revision);
        command.SetAction((result, ct) => CliErrors.GuardAsync(async () =>
        {
            string target = result.GetValue(reference)!;
            var (repo, _) = ModelPuller.ParseReference(target);
            string directory = result.GetValue(dir) ?? KimiCache.ModelsDirectory(repo);
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            var hub = HubClient.FromEnvironment(http);
            var puller = new ModelPuller(hub, new PullOptions
            {
                ParallelDownloads = Math.Max(1, result.GetValue(parallel)),
                Revision = result.GetValue(revision)!,
            });
            Console.Error.WriteLine($"pulling {target} from {hub.Endpoint} into {directory}");
            PullResult pulled;
            if (!Console.IsOutputRedirected && !Console.IsErrorRedirected)
                pulled = await AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                             new TransferSpeedColumn(), new RemainingTimeColumn())
                    .StartAsync(ctx => puller.PullAsync(target, directory, new SpectreProgress(ctx), ct));
            else
                pulled = await puller.PullAsync(target, directory, new LineProgress(Console.Error), ct);
            Console.Error.WriteLine($"downloaded {pulled.BytesDownloaded:N0} bytes; {pulled.Files.Count} file(s) in place");
            Console.WriteLine(pulled.ModelPath);
            Console.Error.WriteLine($"run it:  kimi run --model \"{pulled.ModelPath}\" \"Hello\"");
            return 0;
        }));
        return command;
    }

    /// <summary>One progress bar per file.</summary>
    private sealed class SpectreProgress(ProgressContext context) : IProgress<PullProgress>
    {
        private readonly Dictionary<string, ProgressTask> _tasks = new();
        private readonly Lock _lock = new();

        public void Report(PullProgress value)
        {
            lock (_lock)
            {
                if (!_tasks.TryGetValue(value.File, out var task))
                    _tasks[value.File] = task = context.AddTask(Markup.Escape(Path.GetFileName(value.File)), maxValue: Math.Max(1, value.BytesTotal));
                task.Value = value.BytesDone;
                if (value.State == PullFileState.Retrying) task.Description = Markup.Escape(Path.GetFileName(value.File)) + " [yellow](retrying)[/]";
                else if (value.State == PullFileState.Verifying) task.Description = Markup.Escape(Path.GetFileName(value.File)) + " (sha256)";
                else if (value.State == PullFileState.Done)
                {
                    task.Description = Markup.Escape(Path.GetFileName(value.File));
                    task.Value = task.MaxValue;
                    task.StopTask();
                }
            }
        }
    }

    /// <summary>Plain lines for logs: one per state change and one per 10% of a file.</summary>
    private sealed class LineProgress(TextWriter writer) : IProgress<PullProgress>
    {
        private readonly Dictionary<string, (PullFileState State, long Tenth)> _last = new();
        private readonly Lock _lock = new();

        public void Report(PullProgress value)
        {
            long tenth = value.BytesTotal > 0 ? value.BytesDone * 10 / value.BytesTotal : 0;
            lock (_lock)
            {
                if (_last.TryGetValue(value.File, out var last) && last.State == value.State && last.Tenth == tenth) return;
                _last[value.File] = (value.State, tenth);
                writer.WriteLine($"{value.File}: {value.State.ToString().ToLowerInvariant()} {value.BytesDone:N0}/{value.BytesTotal:N0} bytes");
            }
        }
    }
}
