using KimiSharp.Gguf;

namespace KimiSharp.Tests.Gguf;

public class GgufSplitTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Split_set_opens_from_any_part_with_the_same_tensors_as_the_unsplit_file(int openPart)
    {
        using var dir = new TempDir();
        var expected = new Dictionary<string, byte[]>();
        var writer = SampleGguf.Build(32, 5, expected);
        var single = dir.File("m.gguf");
        writer.Write(single);
        var paths = writer.WriteSplit(dir.File("m"), 3);
        Assert.Equal(dir.File("m-00002-of-00003.gguf"), paths[1]);

        using var whole = GgufFile.Open(single);
        using var split = GgufFile.Open(paths[openPart - 1]);
        Assert.Equal(paths, split.PartPaths);
        Assert.Equal(whole.Tensors.Select(t => (t.Name, t.Type, string.Join(",", t.Dims), t.ByteSize)),
            split.Tensors.Select(t => (t.Name, t.Type, string.Join(",", t.Dims), t.ByteSize)));
        Assert.Equal(3, split.Tensors.Select(t => t.Part).Distinct().Count());
        foreach (var t in split.Tensors)
            Assert.Equal(expected[t.Name], split.GetTensorBytes(t).ToArray());
        Assert.Equal("deepseek2", split.Metadata.GetString("general.architecture"));
        Assert.Equal(0u, split.Metadata.GetUInt32("split.no"));
        Assert.Equal(GgufValueType.UInt16, split.Metadata["split.count"].Type);
        Assert.Equal(GgufValueType.Int32, split.Metadata["split.tensors.count"].Type);
        Assert.Equal(3, split.PartMetadata[2].Count); // later parts: only split.* keys
        Assert.Equal(paths.Sum(p => new FileInfo(p).Length), split.TotalFileSize);
    }

    [Fact]
    public unsafe void Tensor_data_is_unavailable_after_dispose()
    {
        using var dir = new TempDir();
        var path = dir.File("m.gguf");
        SampleGguf.Build().Write(path);
        var file = GgufFile.Open(path);
        var t = file.Tensors[0];
        Assert.True(file.GetTensorData(t) != null);
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.GetTensorBytes(t).Length);
    }

    [Fact]
    public void Missing_part_is_an_error_naming_the_missing_file()
    {
        using var dir = new TempDir();
        var paths = SampleGguf.Build().WriteSplit(dir.File("m"), 3);
        File.Delete(paths[2]);
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(paths[0]));
        Assert.Equal(paths[2], e.FilePath);
        Assert.Contains("m-00003-of-00003.gguf", e.Message);
    }

    [Fact]
    public void Parts_from_different_sets_are_rejected_by_split_no_and_count()
    {
        using var dir = new TempDir();
        var three = SampleGguf.Build().WriteSplit(dir.File("m"), 3);
        var two = SampleGguf.Build().WriteSplit(dir.File("o"), 2);
        File.Copy(two[1], three[1], overwrite: true); // part 2 of 2 where part 2 of 3 should be
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(three[0]));
        Assert.Equal(three[1], e.FilePath);
        Assert.Equal("split.count", e.Key);

        File.Copy(three[2], three[1], overwrite: true); // part 3 where part 2 should be
        Assert.Equal("split.no", Assert.Throws<GgufFormatException>(() => GgufFile.Open(three[0])).Key);
    }

    [Fact]
    public void A_renamed_part_is_rejected_because_its_siblings_cannot_be_found()
    {
        using var dir = new TempDir();
        var paths = SampleGguf.Build().WriteSplit(dir.File("m"), 2);
        var renamed = dir.File("renamed.gguf");
        File.Move(paths[0], renamed);
        Assert.Equal("split.count", Assert.Throws<GgufFormatException>(() => GgufFile.Open(renamed)).Key);
    }
}
