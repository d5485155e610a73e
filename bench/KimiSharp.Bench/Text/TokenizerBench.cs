using System.Diagnostics;
using System.Text;
using BenchmarkDotNet.Attributes;
using KimiSharp.Conformance.Text;
using KimiSharp.Tests.Text;
using KimiSharp.Text;
using LLama;

namespace KimiSharp.Bench.Text;

/// <summary>
/// Tokenizer throughput on the golden corpus (≈ 62 KB of English, code, CJK, Arabic, Hindi, emoji, whitespace) with
/// the o200k_base vocabulary and Kimi's pre-tokenizer: ours vs llama.cpp (LLamaSharp, same GGUF vocabulary).
/// `dotnet run -c Release --project bench/KimiSharp.Bench -- tokenizer` prints a quick same-run table;
/// `-- --filter *TokenizerBench*` runs it under BenchmarkDotNet.
/// </summary>
[MemoryDiagnoser]
public class TokenizerBench
{
    private Tokenizer _ours = null!;
    private LLamaWeights _llama = null!;
    private string _text = "";
    private string _dir = "";

    [GlobalSetup]
    public void Setup() => (_ours, _llama, _text, _dir) = Prepare();

    [GlobalCleanup]
    public void Cleanup()
    {
        _llama.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public int LlamaCpp() => LlamaVocabFile.Tokenize(_llama, _text).Length;

    [Benchmark]
    public int OursWarmCache() => _ours.Encode(_text).Length;

    [Benchmark]
    public int OursColdCache()
    {
        _ours.ClearCache();
        return _ours.Encode(_text).Length;
    }

    private static (Tokenizer, LLamaWeights, string, string) Prepare()
    {
        var data = O200kVocabulary.KimiK2;
        string dir = Directory.CreateTempSubdirectory("kimisharp-tokbench-").FullName;
        string path = Path.Combine(dir, "o200k-kimi-k2.gguf");
        LlamaVocabFile.Write(data, path);
        var llama = LlamaVocabFile.Load(path);
        string corpus = Path.Combine(AppContext.BaseDirectory, "Text", "Golden", "corpus");
        string text = string.Concat(Directory.GetFiles(corpus, "*.txt").Order(StringComparer.Ordinal)
            .Select(f => File.ReadAllText(f, new UTF8Encoding(false))));
        return (Tokenizer.Create(data), llama, text, dir);
    }

    /// <summary>Same-run comparison without BenchmarkDotNet: median of timed rounds after warm-up, MB/s of UTF-8 input.</summary>
    public static void Quick(int rounds = 15)
    {
        var (ours, llama, text, dir) = Prepare();
        try
        {
            double mb = Encoding.UTF8.GetByteCount(text) / 1e6;
            int oursCount = ours.Encode(text).Length, llamaCount = LlamaVocabFile.Tokenize(llama, text).Length;
            double Median(Action action)
            {
                action();
                var times = new List<double>();
                for (int i = 0; i < rounds; i++)
                {
                    var sw = Stopwatch.StartNew();
                    action();
                    times.Add(sw.Elapsed.TotalSeconds);
                }
                times.Sort();
                return times[times.Count / 2];
            }
            double llamaS = Median(() => LlamaVocabFile.Tokenize(llama, text));
            double warmS = Median(() => ours.Encode(text));
            double coldS = Median(() => { ours.ClearCache(); ours.Encode(text); });
            var lines = new[]
            {
                $"Tokenizer throughput, corpus {mb * 1000:F0} KB, o200k_base vocabulary, pre kimi-k2, 1 thread, median of {rounds}",
                "| tokenizer | tokens | ms | MB/s | vs llama.cpp |",
                "|---|---:|---:|---:|---:|",
                $"| llama.cpp (LLamaSharp 0.30.0) | {llamaCount} | {llamaS * 1e3:F2} | {mb / llamaS:F1} | 1.00 |",
                $"| KimiSharp, warm piece cache | {oursCount} | {warmS * 1e3:F2} | {mb / warmS:F1} | {llamaS / warmS:F2} |",
                $"| KimiSharp, cold piece cache | {oursCount} | {coldS * 1e3:F2} | {mb / coldS:F1} | {llamaS / coldS:F2} |",
            };
            Console.WriteLine(string.Join(Environment.NewLine, lines));
        }
        finally
        {
            llama.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }
}
