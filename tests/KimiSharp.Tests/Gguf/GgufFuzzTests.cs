using System.Buffers.Binary;
using KimiSharp.Gguf;

namespace KimiSharp.Tests.Gguf;

/// <summary>Mutated and truncated files may only ever fail with <see cref="GgufFormatException"/>.</summary>
public class GgufFuzzTests
{
    private static readonly long[] Interesting =
        [0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 31, 32, 33, 63, 64, 255, 256, 1 << 20, int.MaxValue, uint.MaxValue, long.MaxValue, -1, -2, long.MinValue, (long)(ulong.MaxValue / 8), 1L << 40];

    [Fact]
    public unsafe void Parser_throws_only_GgufFormatException_when_a_valid_file_is_mutated_or_truncated_10000_times()
    {
        using var dir = new TempDir();
        var original = SampleGguf.Bytes(dir, 64);
        var rng = new Random(20261129);
        int ok = 0, rejected = 0;
        for (var iteration = 0; iteration < 12_000; iteration++)
        {
            var (bytes, length) = Mutate(original, rng);
            try
            {
                fixed (byte* p = bytes)
                {
                    var header = GgufParser.Parse(p, length, "fuzz.gguf", 0);
                    Touch(header);
                }
                ok++;
            }
            catch (GgufFormatException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {iteration}: {e.GetType().Name}: {e.Message}");
            }
        }
        Assert.True(rejected > 6000, $"only {rejected} of 12000 mutations were rejected");
        Assert.True(ok > 100, $"only {ok} mutations parsed");
    }

    [Fact]
    public void Open_throws_only_GgufFormatException_when_mutated_files_are_opened_from_disk()
    {
        using var dir = new TempDir();
        var original = SampleGguf.Bytes(dir);
        var rng = new Random(7);
        var path = dir.File("f.gguf");
        for (var iteration = 0; iteration < 300; iteration++)
        {
            var (bytes, length) = Mutate(original, rng);
            File.WriteAllBytes(path, bytes[..(int)length]);
            try
            {
                using var file = GgufFile.Open(path);
                foreach (var t in file.Tensors)
                    _ = file.GetTensorBytes(t).ToArray();
            }
            catch (GgufFormatException e)
            {
                Assert.Equal(path, e.FilePath);
            }
        }
    }

    private static void Touch(GgufHeader header)
    {
        foreach (var (_, v) in header.Metadata)
            _ = v.Value;
        foreach (var t in header.Tensors)
            _ = t.ElementCount;
    }

    private static (byte[] Bytes, long Length) Mutate(byte[] original, Random rng)
    {
        var bytes = (byte[])original.Clone();
        long length = bytes.Length;
        switch (rng.Next(5))
        {
            case 0: // truncate
                length = rng.Next(bytes.Length);
                break;
            case 1: // flip a few random bytes
                for (var i = rng.Next(1, 9); i > 0; i--)
                    bytes[rng.Next(bytes.Length)] ^= (byte)rng.Next(1, 256);
                break;
            case 2: // an interesting 64-bit value anywhere in the header
            {
                var at = rng.Next(Math.Min(bytes.Length - 8, 1200));
                BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(at), Interesting[rng.Next(Interesting.Length)]);
                break;
            }
            case 3: // an interesting 32-bit value (types, n_dims, counts)
            {
                var at = rng.Next(Math.Min(bytes.Length - 4, 1200));
                BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), (int)Interesting[rng.Next(Interesting.Length)]);
                break;
            }
            default: // mutate and truncate
                bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
                length = rng.Next(bytes.Length / 2, bytes.Length);
                break;
        }
        return (bytes, length);
    }
}
