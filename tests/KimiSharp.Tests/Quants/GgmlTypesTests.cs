using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

public class GgmlTypesTests
{
    [Theory]
    [InlineData(GgmlType.Q4_K, 256, 144)]
    [InlineData(GgmlType.Q8_0, 32, 34)]
    [InlineData(GgmlType.IQ1_M, 256, 56)]
    [InlineData(GgmlType.BF16, 1, 2)]
    public void Table_gives_ggml_block_layout(GgmlType type, int block, int size)
    {
        var info = GgmlTypes.Get(type);
        Assert.Equal(block, info.BlockSize);
        Assert.Equal(size, info.TypeSize);
    }

    [Fact]
    public void RowBytes_rejects_partial_blocks() =>
        Assert.Throws<ArgumentException>(() => GgmlTypes.Get(GgmlType.Q4_K).RowBytes(100));

    [Fact]
    public void Unknown_ids_are_not_found() => Assert.False(GgmlTypes.TryGet(31, out _));
}
