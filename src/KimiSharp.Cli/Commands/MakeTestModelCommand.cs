using System.CommandLine;
using System.Globalization;
using KimiSharp.Quants;
using KimiSharp.TestModels;

namespace KimiSharp.Cli.Commands;

public static class MakeTestModelCommand
{
    public static Command Create()
    {
        var command = new Command("make-test-model", "Write a small random-weight deepseek2 GGUF for tests, benchmarks and the demo");
        var shape = new Option<string>("--shape")
        {
            Description = $"Model shape: {string.Join(" | ", TestModelSpec.Shapes.Select(s => s.Name))}",
            Required = true,
        };
        shape.AcceptOnlyFromAmong(TestModelSpec.Shapes.Select(s => s.Name).ToArray());
        var output = new Option<string>("--out") { Description = "Output file (FILE.gguf; with --split, FILE-0000k-of-0000N.gguf)", Required = true };
        var type = new Option<string>("--type") { Description = "Weight type: f32, f16, bf16, or a quant type this build can write (q8_0, q4_k, …)", DefaultValueFactory = _ => "f32" };
        var seed = new Option<int>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 1 };
        var split = new Option<int>("--split") { Description = "Write N parts like gguf-split", DefaultValueFactory = _ => 1 };
        var udExperts = new Option<string?>("--ud-experts")
        {
            Description = "Mixed file like Unsloth's UD quants: routed experts in this type, attention Q6_K/Q8_0, attn_k_b/v_b Q8_0, the rest Q4_K; norms and router F32 (overrides --type)",
        };
        var layers = new Option<int?>("--layers") { Description = "Number of layers (the leading dense ones kept); default: the shape's (kimi-k2: 61)" };
        var experts = new Option<int?>("--experts") { Description = "Routed experts per MoE layer (8 or fewer of them used); default: the shape's (kimi-k2: 384)" };
        command.Options.Add(layers);
        command.Options.Add(experts);
        command.Options.Add(shape);
        command.Options.Add(output);
        command.Options.Add(type);
        command.Options.Add(seed);
        command.Options.Add(split);
        command.Options.Add(udExperts);
        command.SetAction(result => CliErrors.Guard(() =>
        {
            var spec = TestModelSpec.ForShape(result.GetValue(shape)!) with
            {
                Type = ParseType(result.GetValue(type)!),
                Seed = result.GetValue(seed),
            };
            if (result.GetValue(udExperts) is { } expertType)
                spec = spec with { TypeOverride = TestModelTypes.UdLike(ParseType(expertType)) };
            spec = spec.Resized(result.GetValue(layers), result.GetValue(experts));
            var path = result.GetValue(output)!;
            CheckSize(spec, path, Console.Error);
            var parts = result.GetValue(split);
            IReadOnlyList<string> written;
            if (parts > 1)
            {
                var prefix = path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) ? path[..^5] : path;
                written = TestModelWriter.WriteSplit(spec, prefix, parts);
            }
            else
            {
                TestModelWriter.Write(spec, path);
                written = [path];
            }
            foreach (var p in written)
                Console.WriteLine($"{p}  {new FileInfo(p).Length:N0} bytes");
            return 0;
        }));
        return command;
    }

    /// <summary>Says how big the model will be (warning from 100 B parameters on) and fails early if the disk cannot hold it.</summary>
    private static void CheckSize(TestModelSpec spec, string path, TextWriter log)
    {
        var (parameters, bytes) = TestModelWriter.Size(spec);
        var size = string.Create(CultureInfo.InvariantCulture, $"{parameters / 1e9:F2} B parameters, {bytes / 1e9:F2} GB");
        log.WriteLine($"{spec.Name}: {spec.LayerCount} layers, {spec.ExpertCount} experts ({spec.ExpertUsedCount} used): {size}");
        if (parameters >= 100_000_000_000)
            log.WriteLine($"warning: this is a full-size model ({size}); writing it takes a long time and that much disk");
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (Directory.Exists(directory) && new DriveInfo(directory).AvailableFreeSpace is var free && free < bytes + (64L << 20))
            throw new IOException(string.Create(CultureInfo.InvariantCulture, $"not enough disk space for {size}: {free / 1e9:F2} GB free in {directory}"));
    }

    public static GgmlType ParseType(string text)
    {
        foreach (var info in GgmlTypes.All)
            if (string.Equals(info.Name, text, StringComparison.OrdinalIgnoreCase))
                return info.Type;
        throw new ArgumentException($"unknown type '{text}'; known: {string.Join(", ", GgmlTypes.All.Select(i => i.Name.ToLowerInvariant()))}");
    }
}
