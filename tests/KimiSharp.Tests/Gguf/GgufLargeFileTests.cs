using System.Diagnostics;
using KimiSharp.Gguf;
using KimiSharp.Quants;
using Xunit.Abstractions;

namespace KimiSharp.Tests.Gguf;

public class GgufLargeFileTests(ITestOutputHelper output)
{
    private const int VocabSize = 163_840;

    /// <summary>
    /// A Kimi-sized vocabulary plus <paramref name="bigTensors"/> × 1 GiB of F32 data (sparse: the writer seeks
    /// over it), then a 64-float marker tensor at the very end.
    /// </summary>
    private static void WriteFile(string path, int bigTensors)
    {
        var rng = new Random(11);
        var w = new GgufWriter();
        w.SetString("general.architecture", "deepseek2");
        var tokens = new string[VocabSize];
        for (var i = 0; i < tokens.Length; i++)
            tokens[i] = "tok" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + new string('x', rng.Next(0, 8));
        w.SetArray("tokenizer.ggml.tokens", tokens);
        w.SetArray("tokenizer.ggml.token_type", Enumerable.Repeat(1, VocabSize).ToArray());
        const long big = 1L << 28; // F32 elements = 1 GiB
        for (var i = 0; i < bigTensors; i++)
            w.AddTensor($"big.{i}", GgmlType.F32, [big], s => s.Seek(big * 4, SeekOrigin.Current));
        var marker = new byte[64 * 4];
        for (var i = 0; i < marker.Length; i++)
            marker[i] = (byte)(i * 7);
        w.AddTensor("marker", GgmlType.F32, [64], marker);
        w.Write(path);
    }

    [Fact]
    public unsafe void Open_is_fast_and_heap_does_not_grow_with_file_size_when_file_is_5_GiB()
    {
        using var dir = new TempDir();
        var small = dir.File("small.gguf");
        var large = dir.File("large.gguf");
        WriteFile(small, 0);
        WriteFile(large, 5);
        Assert.True(new FileInfo(large).Length > 5L << 30);

        (long Allocated, double Ms) Measure(string path)
        {
            var best = double.MaxValue;
            for (var i = 0; i < 5; i++) // warm up JIT and the page cache; keep the best time
            {
                var t0 = Stopwatch.StartNew();
                GgufFile.Open(path).Dispose();
                best = Math.Min(best, t0.Elapsed.TotalMilliseconds);
            }
            var before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            using var file = GgufFile.Open(path);
            sw.Stop();
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            var marker = file.GetTensor("marker");
            Assert.Equal(Enumerable.Range(0, 256).Select(i => (byte)(i * 7)).ToArray(), file.GetTensorBytes(marker).ToArray());
            Assert.Equal(VocabSize, file.Metadata.GetStringArray("tokenizer.ggml.tokens").Length);
            return (allocated, Math.Min(best, sw.Elapsed.TotalMilliseconds));
        }

        var s = Measure(small);
        var l = Measure(large);
        output.WriteLine($"open small ({new FileInfo(small).Length:N0} B): {s.Ms:F2} ms, {s.Allocated:N0} B allocated");
        output.WriteLine($"open large ({new FileInfo(large).Length:N0} B): {l.Ms:F2} ms, {l.Allocated:N0} B allocated");
        Assert.True(Math.Abs(l.Allocated - s.Allocated) < 64 * 1024, $"heap grew with file size: {s.Allocated} vs {l.Allocated}");
        using var f = GgufFile.Open(large);
        Assert.True(f.GetTensor("marker").Offset > 5L << 30);
    }
}
