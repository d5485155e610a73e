using System.Text;
using KimiSharp.Text;

namespace KimiSharp.Tests.Text;

/// <summary>
/// Our kimi-k2 tokenizer against goldens written by tools/tokenizer/make-goldens.mjs with the reference tiktoken
/// (npm `tiktoken`, Kimi's split pattern, o200k_base ranks), over the whole committed corpus.
/// </summary>
public class TiktokenGoldenTests
{
    private static readonly string GoldenDir = Path.Combine(AppContext.BaseDirectory, "Text", "Golden");

    public static TheoryData<string> CorpusFiles()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(Path.Combine(GoldenDir, "corpus"), "*.txt").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileNameWithoutExtension(file));
        return data;
    }

    [Fact]
    public void Corpus_is_at_least_50_KB_with_a_golden_for_every_file()
    {
        long bytes = 0;
        foreach (string file in Directory.GetFiles(Path.Combine(GoldenDir, "corpus"), "*.txt"))
        {
            bytes += new FileInfo(file).Length;
            Assert.True(File.Exists(Path.Combine(GoldenDir, Path.GetFileNameWithoutExtension(file) + ".ids")), file);
        }
        Assert.True(bytes >= 50 * 1024, $"corpus is {bytes} bytes");
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Encode_matches_tiktoken_ids_when_given_corpus_file(string name)
    {
        string text = File.ReadAllText(Path.Combine(GoldenDir, "corpus", name + ".txt"), new UTF8Encoding(false));
        int[] expected = File.ReadAllText(Path.Combine(GoldenDir, name + ".ids"))
            .Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        var tokenizer = O200kVocabulary.KimiK2Tokenizer;

        int[] actual = tokenizer.Encode(text);

        int mismatch = FirstMismatch(expected, actual);
        if (mismatch >= 0)
        {
            string Show(int[] ids) => string.Join(" | ", ids.Skip(Math.Max(0, mismatch - 3)).Take(8)
                .Select(id => $"{id}:{Escape(Encoding.UTF8.GetString(tokenizer.TokenBytes(id)))}"));
            Assert.Fail($"{name}: first difference at id #{mismatch} (expected {expected.Length} ids, got {actual.Length})\n" +
                        $"  tiktoken: {Show(expected)}\n  ours:     {Show(actual)}");
        }
        Assert.Equal(text, tokenizer.Decode(actual));
    }

    private static int FirstMismatch(int[] a, int[] b)
    {
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++) if (a[i] != b[i]) return i;
        return a.Length == b.Length ? -1 : Math.Min(a.Length, b.Length);
    }

    private static string Escape(string s) => s.Replace("\r", "\\r").Replace("\n", "\\n").Replace("\t", "\\t");
}
