using System.CommandLine;
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
            var path = result.GetValue(output)!;
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

    public static GgmlType ParseType(string text)
    {
        foreach (var info in GgmlTypes.All)
            if (string.Equals(info.Name, text, StringComparison.OrdinalIgnoreCase))
                return info.Type;
        throw new ArgumentException($"unknown type '{text}'; known: {string.Join(", ", GgmlTypes.All.Select(i => i.Name.ToLowerInvariant()))}");
    }
}
