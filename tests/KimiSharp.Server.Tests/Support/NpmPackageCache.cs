using System.Collections.Concurrent;
using System.Diagnostics;
using KimiSharp.Demo;

namespace KimiSharp.Server.Tests.Support;

/// <summary>
/// Installs a pinned npm package once into the KimiSharp cache folder (<c>KIMISHARP_CACHE</c>, else
/// <c>~/.cache/kimisharp</c>) under <c>npm/NAME@VERSION</c>, never into the repository, and reuses it afterwards.
/// The install goes to a temporary folder that is renamed into place when complete, so a half-finished
/// install is never used; callers in this process wait for each other, and of two processes installing at
/// once the first rename wins and the other's copy is dropped.
/// When npm is missing or the registry cannot be reached, <see cref="Require"/> skips the calling test
/// (<see cref="SkipException"/>) with the reason. Used by the agent CLI end-to-end tests (Claude Code, Codex).
/// </summary>
public static class NpmPackageCache
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new();

    /// <summary>The cache folder of installed npm packages.</summary>
    public static string Root => Path.Combine(KimiCache.Root, "npm");

    /// <summary>
    /// The installed package (installing it first when needed). Throws <see cref="SkipException"/> when it
    /// cannot be installed here, naming why.
    /// </summary>
    /// <param name="package">An npm package name, e.g. <c>@anthropic-ai/claude-code</c>.</param>
    /// <param name="version">An exact version, e.g. <c>2.1.328</c>.</param>
    /// <param name="bin">The executable the package installs under <c>node_modules/.bin</c>.</param>
    public static NpmPackage Require(string package, string version, string bin)
    {
        var folder = Path.Combine(Root, package.Replace('/', '+') + "@" + version);
        var gate = Gates.GetOrAdd(folder, _ => new SemaphoreSlim(1, 1));
        gate.Wait();
        try
        {
            var installed = new NpmPackage(package, version, folder, bin);
            if (File.Exists(installed.BinPath))
                return installed;
            Directory.CreateDirectory(Root);
            Install(package, version, folder, bin);
            return installed;
        }
        finally
        {
            gate.Release();
        }
    }

    private static void Install(string package, string version, string folder, string bin)
    {
        var staging = $"{folder}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        try
        {
            // Short retries so an unreachable registry skips in about a minute instead of hanging.
            var (exit, output) = Run("npm", staging,
                "install", "--prefix", staging, "--no-audit", "--no-fund", "--no-save", "--loglevel=error",
                "--fetch-retries=1", "--fetch-retry-mintimeout=2000", "--fetch-retry-maxtimeout=10000", "--fetch-timeout=60000",
                $"{package}@{version}");
            if (exit != 0)
                Skip.If(true, $"npm could not install {package}@{version} (is the npm registry reachable?): {LastLine(output)}");
            if (!File.Exists(Path.Combine(staging, "node_modules", ".bin", bin)))
                Skip.If(true, $"npm installed {package}@{version} but it has no '{bin}' executable for this platform");
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true); // an older, broken install
            try
            {
                Directory.Move(staging, folder);
            }
            catch (IOException) when (File.Exists(Path.Combine(folder, "node_modules", ".bin", bin)))
            {
                // Another process finished the same install first.
            }
        }
        finally
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
    }

    private static (int Exit, string Output) Run(string program, string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Skip.If(true, $"npm is not installed or not on PATH ({e.Message}): the npm-installed CLI tests need Node.js and npm");
            throw; // unreachable: Skip.If throws
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                process.Kill(entireProcessTree: true);
                Skip.If(true, $"npm install took over 5 minutes (is the npm registry reachable?)");
            }

            return (process.ExitCode, stdout.Result + stderr.Result);
        }
    }

    private static string LastLine(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(no output)" : string.Join(" | ", lines.TakeLast(3));
    }
}

/// <summary>An installed npm package: its folder and its executable.</summary>
public sealed record NpmPackage(string Name, string Version, string Folder, string Bin)
{
    public string BinPath => Path.Combine(Folder, "node_modules", ".bin", Bin);
}
