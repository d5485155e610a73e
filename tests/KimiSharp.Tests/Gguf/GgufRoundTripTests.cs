using System.Collections;
using KimiSharp.Gguf;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Gguf;

public class GgufRoundTripTests
{
    [Theory]
    [InlineData(32u)]
    [InlineData(64u)]
    [InlineData(1u)]
    public void Write_then_open_gives_identical_metadata_and_tensor_bytes_when_alignment_varies(uint alignment)
    {
        using var dir = new TempDir();
        var expectedBytes = new Dictionary<string, byte[]>();
        var writer = SampleGguf.Build(alignment, 7, expectedBytes);
        var path = dir.File("rt.gguf");
        writer.Write(path);

        using var file = GgufFile.Open(path);
        Assert.Equal(3u, file.Version);
        Assert.Equal(alignment, file.Alignment);
        var keys = file.Metadata.Keys.Where(k => k != "general.alignment").ToArray();
        Assert.Equal(writer.Keys, keys);
        foreach (var key in writer.Keys)
        {
            Assert.True(writer.TryGetValue(key, out var expected));
            var actual = file.Metadata[key];
            Assert.Equal(expected.Type, actual.Type);
            if (expected.IsArray)
            {
                Assert.Equal(expected.ElementType, actual.ElementType);
                Assert.Equal(expected.Length, actual.Length);
                Assert.Equal(((IEnumerable)expected.Value).Cast<object>(), ((IEnumerable)actual.Value).Cast<object>());
                Assert.Equal(expected.Value.GetType(), actual.Value.GetType());
            }
            else
            {
                Assert.Equal(expected.Value, actual.Value);
            }
        }
        Assert.Equal(alignment != 32, file.Metadata.ContainsKey("general.alignment"));

        Assert.Equal(expectedBytes.Keys, file.Tensors.Select(t => t.Name));
        foreach (var t in file.Tensors)
        {
            Assert.Equal(0, t.Offset % alignment);
            Assert.Equal(expectedBytes[t.Name], file.GetTensorBytes(t).ToArray());
        }
        var kb = file.GetTensor("blk.0.attn_k_b.weight");
        Assert.Equal(GgmlType.Q8_0, kb.Type);
        Assert.Equal(new long[] { 32, 4, 2 }, kb.Dims);
        Assert.Equal(256, kb.ElementCount);
        Assert.Equal(8 * 34, kb.ByteSize);
        Assert.Equal(new FileInfo(path).Length, file.TotalFileSize);
    }

    [Fact]
    public void Open_reads_version_2_files_the_same_as_version_3()
    {
        using var dir = new TempDir();
        var bytes = SampleGguf.Bytes(dir);
        bytes[4] = 2;
        var path = dir.File("v2.gguf");
        File.WriteAllBytes(path, bytes);
        using var file = GgufFile.Open(path);
        Assert.Equal(2u, file.Version);
        Assert.Equal(5, file.Tensors.Count);
        Assert.Equal("héllo ✓ 𝄞", file.Metadata.GetString("t.str"));
    }

    [Fact]
    public void Typed_getters_widen_integers_and_name_the_key_when_type_is_wrong()
    {
        using var dir = new TempDir();
        var path = dir.File("m.gguf");
        SampleGguf.Build().Write(path);
        using var file = GgufFile.Open(path);
        var md = file.Metadata;
        Assert.Equal(200u, md.GetUInt32("t.u8"));
        Assert.Equal(-100, md.GetInt32("t.i8"));
        Assert.Equal(60000, md.GetInt32("t.u16"));
        Assert.Equal(4_000_000_000u, md.GetUInt32("t.u32"));
        Assert.Equal(2.827f, md.GetFloat32("t.f32"));
        Assert.Equal((float)Math.PI, md.GetFloat32("t.f64"));
        Assert.True(md.GetBool("t.bool"));
        Assert.Equal(new long[] { 7, uint.MaxValue }, md.GetArray<long>("a.u32"));
        Assert.Equal(new[] { "", "a", "Ġthe", "<|im_end|>", "日本" }, md.GetStringArray("a.str"));
        Assert.Equal(new[] { -7, 0, 9 }, md.GetArray<int>("a.i32"));

        var negative = Assert.Throws<GgufFormatException>(() => md.GetUInt32("t.i8"));
        Assert.Equal("t.i8", negative.Key);
        Assert.Equal(path, negative.FilePath);
        Assert.Equal("t.u32", Assert.Throws<GgufFormatException>(() => md.GetInt32("t.u32")).Key);
        Assert.Equal("t.str", Assert.Throws<GgufFormatException>(() => md.GetUInt32("t.str")).Key);
        Assert.Equal("nope", Assert.Throws<GgufFormatException>(() => md.GetString("nope")).Key);
        Assert.Equal("a.i8", Assert.Throws<GgufFormatException>(() => md.GetArray<byte>("a.i8")).Key);
        Assert.Equal(5u, md.GetUInt32("nope", 5));
    }
}
