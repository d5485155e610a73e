using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace KimiSharp.Server.Tests.Cli;

/// <summary>
/// The <c>kimi</c> .NET tool as a user gets it: <c>dotnet pack</c> of KimiSharp.Cli (the build the suite already made,
/// <c>--no-build</c>) into a temporary feed, <c>dotnet tool install KimiSharp.Cli --tool-path X --add-source FEED</c>
/// with a private NuGet package folder (so no stale cached package is picked up), then <c>X/kimi --version</c> and
/// <c>X/kimi serve</c> answering /v1/models on the demo model.
/// </summary>
public sealed class ToolPackageTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(5); // a hang guard, not a speed check

    [SkippableFact]
    public async Task Packed_tool_installs_and_the_kimi_command_serves()
    {
        var repo = RepositoryRoot();
        Skip.If(repo is null, "the repository (KimiSharp.slnx) is not above the test's output folder, so there is nothing to pack");
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // …/bin/<Configuration>/net10.0/
        var work = Directory.CreateTempSubdirectory("kimi-tool-");
        try
        {
            string feed = Path.Combine(work.FullName, "feed"), tools = Path.Combine(work.FullName, "tools");
            string config = Path.Combine(work.FullName, "nuget.config");
            File.WriteAllText(config, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration><packageSources><clear /><add key="local" value="{feed}" /></packageSources></configuration>
                """);
            var environment = new Dictionary<string, string>
            {
                ["NUGET_PACKAGES"] = Path.Combine(work.FullName, "packages"),
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
                ["DOTNET_NOLOGO"] = "1",
            };

            var pack = await RunAsync(Dotnet, ["pack", Path.Combine(repo!, "src", "KimiSharp.Cli", "KimiSharp.Cli.csproj"), "-c", configuration, "--no-build", "-o", feed],
                environment);
            Assert.True(pack.ExitCode == 0, pack.Output);
            var packages = Directory.GetFiles(feed).Select(Path.GetFileName).ToList();
            Assert.Contains(packages, p => Regex.IsMatch(p!, @"^KimiSharp\.Cli\.\d+\.\d+\.\d+.*\.nupkg$"));
            Assert.Contains(packages, p => p!.EndsWith(".snupkg", StringComparison.Ordinal));

            var install = await RunAsync(Dotnet, ["tool", "install", "KimiSharp.Cli", "--tool-path", tools, "--add-source", feed, "--configfile", config], environment);
            Assert.True(install.ExitCode == 0, install.Output);

            string kimi = Path.Combine(tools, OperatingSystem.IsWindows() ? "kimi.exe" : "kimi");
            var version = await RunAsync(kimi, ["--version"], environment);
            Assert.True(version.ExitCode == 0, version.Output);
            Assert.Matches(@"^\d+\.\d+\.\d+", version.Output.Trim());

            await ServesModelsAsync(kimi, environment);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>Starts <c>kimi serve --port 0</c>, waits for its "ready" line on stderr, and reads /v1/models.</summary>
    private static async Task ServesModelsAsync(string kimi, Dictionary<string, string> environment)
    {
        using var process = Start(kimi, ["serve", "--port", "0", "--ctx", "256", "--threads", "1"], environment);
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            Uri? address = null;
            bool ready = false;
            var log = new List<string>();
            while ((address is null || !ready) && await process.StandardError.ReadLineAsync(timeout.Token) is { } line)
            {
                log.Add(line);
                if (Regex.Match(line, @"listening on (http://\S+?)/? ") is { Success: true } listening)
                    address = new Uri(listening.Groups[1].Value);
                ready |= line.Contains("' ready", StringComparison.Ordinal);
            }

            Assert.True(address is not null && ready, string.Join('\n', log));
            using var http = new HttpClient { BaseAddress = address };
            using var models = JsonDocument.Parse(await http.GetStringAsync("/v1/models", timeout.Token));
            Assert.Equal("kimi-tiny-demo", models.RootElement.GetProperty("data")[0].GetProperty("id").GetString());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }
    }

    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] arguments, Dictionary<string, string> environment)
    {
        using var process = Start(file, arguments, environment);
        using var timeout = new CancellationTokenSource(Limit);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} {string.Join(' ', arguments)} did not finish in {Limit}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static Process Start(string file, string[] arguments, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
    }

    private static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "KimiSharp.slnx")))
                return dir.FullName;
        return null;
    }
}
