using System.Diagnostics;
using System.Text.Json;

namespace KimiSharp.Server.Tests.Support;

/// <summary>
/// Claude Code, the npm package pinned below, run in print mode against a local server: installed once into the
/// cache folder (<see cref="NpmPackageCache"/>; the test skips when npm cannot install it), run with a clean
/// environment in a temporary HOME (no user settings, no login), and kept off the network except for the server:
/// <c>CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC</c> (no telemetry, auto-update, release notes or other side traffic,
/// per Claude Code's documented environment variables) plus the individual switches for older readers.
/// </summary>
public sealed class ClaudeCodeCli : IDisposable
{
    public const string Package = "@anthropic-ai/claude-code";
    public const string Version = "2.1.328";

    private readonly NpmPackage _package;
    private readonly string _home = Directory.CreateTempSubdirectory("kimi-claude-home-").FullName;

    private ClaudeCodeCli(NpmPackage package)
    {
        _package = package;
        WorkingDirectory = Directory.CreateDirectory(Path.Combine(_home, "work")).FullName;
    }

    /// <summary>The folder Claude Code runs in (its tools see it as the project).</summary>
    public string WorkingDirectory { get; }

    /// <summary>Installs (or finds) the pinned Claude Code; skips the calling test when that is impossible here.</summary>
    public static ClaudeCodeCli Require() => new(NpmPackageCache.Require(Package, Version, "claude"));

    /// <summary>Runs <c>claude -p PROMPT --output-format json ARGS</c> against <paramref name="server"/> and parses its result object.</summary>
    public async Task<ClaudeResult> PrintAsync(Uri server, string apiKey, string prompt, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(_package.BinPath)
        {
            WorkingDirectory = WorkingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-p", prompt, "--output-format", "json" }.Concat(arguments))
            start.ArgumentList.Add(argument);

        start.Environment.Clear();
        start.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        start.Environment["HOME"] = _home;
        start.Environment["CLAUDE_CONFIG_DIR"] = Path.Combine(_home, ".claude");
        start.Environment["LANG"] = "C.UTF-8";
        start.Environment["ANTHROPIC_BASE_URL"] = server.ToString().TrimEnd('/');
        start.Environment["ANTHROPIC_AUTH_TOKEN"] = apiKey;
        start.Environment["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";
        start.Environment["DISABLE_TELEMETRY"] = "1";
        start.Environment["DISABLE_AUTOUPDATER"] = "1";
        start.Environment["DISABLE_ERROR_REPORTING"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("claude did not start");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"claude did not finish within {timeout}; stderr: {await stderr}");
        }

        var output = await stdout;
        var errors = await stderr;
        var json = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.TrimStart().StartsWith('{'))
            ?? throw new InvalidOperationException($"claude printed no JSON result (exit {process.ExitCode}); stdout: {output}; stderr: {errors}");
        return new ClaudeResult(process.ExitCode, JsonDocument.Parse(json).RootElement.Clone(), errors);
    }

    public void Dispose() => Directory.Delete(_home, recursive: true);
}

/// <summary>Claude Code's <c>--output-format json</c> result object.</summary>
public sealed record ClaudeResult(int ExitCode, JsonElement Json, string Stderr)
{
    public bool IsError => Json.GetProperty("is_error").GetBoolean();

    public string Result => Json.TryGetProperty("result", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "";

    public override string ToString() => $"exit {ExitCode}: {Json.GetRawText()} {Stderr}";
}
