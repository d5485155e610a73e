using System.Buffers.Binary;
using KimiSharp.Gguf;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Gguf;

public class GgufStrictnessTests
{
    // Layout of TwoTensors(): 24-byte header, no metadata, then tensor infos "a"/"b" (1-dim):
    // name (8 + 1) · n_dims (4) · dim (8) · type (4) · offset (8) = 33 bytes each.
    private const int ADim = 24 + 9 + 4, AType = ADim + 8, AOffset = AType + 4;
    private const int BOffset = AOffset + 8 + 25;

    private static byte[] TwoTensors(TempDir dir, GgmlType type = GgmlType.Q8_0)
    {
        var w = new GgufWriter();
        var rng = new Random(3);
        var sink = new Dictionary<string, byte[]>();
        SampleGguf.AddRandom(w, rng, sink, "a", type, [32]);
        SampleGguf.AddRandom(w, rng, sink, "b", GgmlType.F32, [8]);
        var path = dir.File("two.gguf");
        w.Write(path);
        return File.ReadAllBytes(path);
    }

    private static GgufFormatException OpenFails(TempDir dir, byte[] bytes)
    {
        var path = dir.File("bad.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
        Assert.Equal(path, e.FilePath);
        return e;
    }

    [Fact]
    public void Layout_constants_match_the_writer()
    {
        using var dir = new TempDir();
        var bytes = TwoTensors(dir);
        Assert.Equal(32, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(ADim)));
        Assert.Equal((int)GgmlType.Q8_0, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(AType)));
        Assert.Equal(64, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(BOffset))); // 34 bytes padded to 64
    }

    [Fact]
    public void Open_rejects_a_tensor_offset_that_is_not_the_running_padded_total()
    {
        using var dir = new TempDir();
        var bytes = TwoTensors(dir);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(BOffset), 34);
        var e = OpenFails(dir, bytes);
        Assert.Equal("b", e.Key);
        Assert.Equal(BOffset, e.Offset);
        Assert.Contains("expected 64", e.Message);
    }

    [Fact]
    public void Open_rejects_a_row_length_not_divisible_by_the_block_size()
    {
        using var dir = new TempDir();
        var bytes = TwoTensors(dir);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(ADim), 48);
        var e = OpenFails(dir, bytes);
        Assert.Equal("a", e.Key);
        Assert.Contains("block size 32", e.Message);
    }

    [Theory]
    [InlineData(31)]
    [InlineData(99)]
    [InlineData(-1)]
    public void Open_rejects_unknown_or_removed_ggml_type_ids(int typeId)
    {
        using var dir = new TempDir();
        var bytes = TwoTensors(dir);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(AType), typeId);
        Assert.Contains($"unknown ggml type id {typeId}", OpenFails(dir, bytes).Message);
    }

    [Fact]
    public void Open_rejects_tensor_data_past_the_end_of_the_file()
    {
        using var dir = new TempDir();
        var bytes = TwoTensors(dir);
        var e = OpenFails(dir, bytes[..^40]);
        Assert.Equal("b", e.Key);
        Assert.Contains("past the end of the file", e.Message);
    }

    [Fact]
    public void Open_rejects_a_lying_dimension_without_allocating()
    {
        using var dir = new TempDir();
        var bytes = TwoTensors(dir, GgmlType.F32);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(ADim), long.MaxValue / 2);
        var e = OpenFails(dir, bytes);
        Assert.Equal("a", e.Key);
    }

    [Theory]
    [InlineData(0u, "magic")]
    [InlineData(1u, "version 1")]
    [InlineData(4u, "newer")]
    [InlineData(0x00030000u, "byte-swapped")]
    public void Open_rejects_bad_magic_and_versions(uint version, string expected)
    {
        using var dir = new TempDir();
        var bytes = TwoTensors(dir);
        if (version == 0)
            bytes[0] = (byte)'X';
        else
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), version);
        Assert.Contains(expected, OpenFails(dir, bytes).Message);
    }

    [Fact]
    public void Open_rejects_alignment_that_is_not_a_power_of_two()
    {
        using var dir = new TempDir();
        var w = new GgufWriter(64);
        w.SetUInt32("x", 1);
        var path = dir.File("a.gguf");
        w.Write(path);
        var bytes = File.ReadAllBytes(path);
        // general.alignment is the first pair: key (8 + 17) then type (4) then the u32 value.
        var valueAt = 24 + 8 + "general.alignment".Length + 4;
        Assert.Equal(64u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(valueAt)));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(valueAt), 48);
        Assert.Equal("general.alignment", OpenFails(dir, bytes).Key);
    }

    [Fact]
    public void Open_rejects_nested_arrays_duplicate_keys_and_huge_counts()
    {
        using var dir = new TempDir();
        var w = new GgufWriter();
        w.SetArray("k", new uint[] { 1 });
        w.SetUInt32("q", 1);
        var path = dir.File("n.gguf");
        w.Write(path);
        var bytes = File.ReadAllBytes(path);
        var elemAt = 24 + 8 + 1 + 4;
        var nested = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(nested.AsSpan(elemAt), (uint)GgufValueType.Array);
        Assert.Contains("nested", OpenFails(dir, nested).Message);

        var huge = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge.AsSpan(elemAt + 4), ulong.MaxValue / 2);
        Assert.Equal("k", OpenFails(dir, huge).Key);

        var duplicate = (byte[])bytes.Clone();
        duplicate[24 + 8 + 1 + 4 + 4 + 8 + 4 + 8] = (byte)'k'; // rename "q" to "k"
        Assert.Contains("duplicate", OpenFails(dir, duplicate).Message);

        var manyKeys = (byte[])bytes.Clone();
        BinaryPrimitives.WriteInt64LittleEndian(manyKeys.AsSpan(16), long.MaxValue);
        Assert.Equal(16, OpenFails(dir, manyKeys).Offset);
    }

    [Fact]
    public void Open_of_an_empty_or_tiny_file_is_a_format_error()
    {
        using var dir = new TempDir();
        OpenFails(dir, []);
        OpenFails(dir, "GGUF"u8.ToArray());
    }
}
