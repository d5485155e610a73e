using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Cli.Commands;

/// <summary>
/// <c>kimi logits --model FILE --tokens 1,2,3 --out FILE.bin</c>: the logits of every position as float32
/// little-endian [n_tokens × n_vocab], for checking against llama.cpp; prints the top-5 of the last position.
/// </summary>
public static class LogitsCommand
{
    public static Command Create()
    {
        var command = new Command("logits", "Write the logits of every position for a token sequence");
        var model = new Option<string>("--model") { Description = "GGUF file (any part of a split set)", Required = true };
        var tokens = new Option<string>("--tokens") { Description = "Comma-separated token ids, e.g. 1,2,3", Required = true };
        var output = new Option<string>("--out") { Description = "Output file: float32 little-endian [n_tokens × n_vocab]", Required = true };
        var threads = new Option<int>("--threads") { Description = "Worker threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var kvType = new Option<string?>("--cache-type") { Description = "KV cache type: f32, f16 or q8_0 (default: f16, or f32 with --exact)" };
        var noRepack = new Option<bool>("--no-repack") { Description = "Sum as llama.cpp run with --no-repack does (plain vec_dot/tinyBLAS order; by default KimiSharp follows the kernels llama.cpp uses on the weights it repacks)" };
        command.Options.Add(model);
        command.Options.Add(tokens);
        command.Options.Add(output);
        command.Options.Add(threads);
        command.Options.Add(kvType);
        command.Options.Add(noRepack);
        var exact = ExactOption.Create();
        command.Options.Add(exact);
        command.SetAction(result => CliErrors.Guard(() =>
        {
            var ids = ParseTokens(result.GetValue(tokens)!);
            var kv = result.GetValue(kvType);
            var options = new ModelOptions(result.GetValue(threads), kv is null ? null : ParseKvType(kv),
                MatchLlamaCppRepacking: !result.GetValue(noRepack), Exact: result.GetValue(exact));
            using var m = DeepSeek2Model.Load(result.GetValue(model)!, options);
            Console.Error.WriteLine(m.Describe(ids.Length));
            int vocab = m.VocabSize;
            var logits = new float[(long)ids.Length * vocab];
            using (var session = m.CreateSession(ids.Length))
                session.ForwardAll(ids, logits);
            WriteLittleEndian(result.GetValue(output)!, logits);

            var last = logits.AsSpan((ids.Length - 1) * vocab, vocab);
            Console.WriteLine($"wrote {ids.Length} × {vocab} logits; top-5 of position {ids.Length - 1}:");
            foreach (var (id, value) in TopK(last, 5))
                Console.WriteLine($"  {id,8}  {value.ToString("F6", CultureInfo.InvariantCulture)}");
            return 0;
        }));
        return command;
    }

    public static int[] ParseTokens(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
            throw new ArgumentException("--tokens needs at least one token id");
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out ids[i]))
                throw new ArgumentException($"--tokens: '{parts[i]}' is not a non-negative integer token id");
        return ids;
    }

    public static KvCacheType ParseKvType(string text) => text.ToLowerInvariant() switch
    {
        "f32" => KvCacheType.F32,
        "f16" => KvCacheType.F16,
        "q8_0" => KvCacheType.Q8_0,
        _ => throw new ArgumentException($"unknown KV cache type '{text}'; expected f32, f16 or q8_0"),
    };

    private static void WriteLittleEndian(string path, float[] values)
    {
        using var stream = File.Create(path);
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
            return;
        }
        var buffer = new byte[4];
        foreach (float v in values)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(buffer, v);
            stream.Write(buffer);
        }
    }

    /// <summary>The k largest values with their ids, largest first.</summary>
    public static (int Id, float Value)[] TopK(ReadOnlySpan<float> values, int k)
    {
        var best = new List<(int Id, float Value)>(k + 1);
        for (int i = 0; i < values.Length; i++)
        {
            if (best.Count == k && values[i] <= best[^1].Value)
                continue;
            int at = 0;
            while (at < best.Count && best[at].Value >= values[i])
                at++;
            best.Insert(at, (i, values[i]));
            if (best.Count > k)
                best.RemoveAt(k);
        }
        return [.. best];
    }
}
