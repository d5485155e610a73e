using KimiSharp.Gguf;
using KimiSharp.TestModels;

namespace KimiSharp.Demo;

/// <summary>
/// The built-in demo model: a kimi-tiny-shaped deepseek2 GGUF with random weights, the test vocabulary and
/// the Kimi chat template, created once in the user cache directory (written to a temporary file and
/// renamed, so a half-written file is never used). Its output is noise; it exists so every command works
/// on a fresh clone without downloading hundreds of gigabytes.
/// </summary>
public static class DemoModel
{
    /// <summary>Bumped when the demo file's content changes; an older cached file is rebuilt.</summary>
    public const int Version = 2;
    public const string VersionKey = "kimisharp.demo.version";
    public const string FileName = "kimi-tiny-demo.gguf";

    /// <summary>What to tell the user whenever the demo model is used.</summary>
    public const string Notice =
        "Using the built-in demo model (kimi-tiny shape, random weights): its output is noise, not answers.\n" +
        "For the real model: kimi pull unsloth/Kimi-K2-Instruct-0905-GGUF:UD-Q2_K_XL   then pass --model with the path it prints.";

    /// <summary>kimi-tiny with Kimi-K2's trained context (131072 tokens), so agents' long prompts fit as they would on the real model.</summary>
    public static TestModelSpec Spec => TestModelSpec.KimiTiny with { Seed = 20250905, ContextLength = 131072 };

    /// <summary>Path of the demo GGUF, creating it if missing or outdated.</summary>
    public static string EnsureCreated(string? cacheDirectory = null)
    {
        string directory = cacheDirectory ?? KimiCache.Root;
        string path = Path.Combine(directory, FileName);
        if (IsCurrent(path)) return path;

        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{FileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var writer = TestModelWriter.CreateWriter(Spec);
            writer.SetUInt32(VersionKey, Version);
            writer.SetString("general.name", "KimiSharp demo (random weights)");
            writer.Write(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return path;
    }

    private static bool IsCurrent(string path)
    {
        if (!File.Exists(path)) return false;
        try
        {
            using var file = GgufFile.Open(path);
            return file.Metadata.TryGetUInt32(VersionKey, out uint v) && v == Version;
        }
        catch (Exception e) when (e is GgufFormatException or IOException)
        {
            return false;
        }
    }
}
