using KimiSharp.Engine;
using KimiSharp.Models.DeepSeek2;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Models;

public unsafe class LatentRowFormatTests
{
    [Theory]
    [InlineData(KvCacheType.F32, 576, 0f)]
    [InlineData(KvCacheType.F16, 576, 1e-3f)]
    [InlineData(KvCacheType.Q8_0, 576, 1e-2f)]
    [InlineData(KvCacheType.Q8_0, 80, 1e-2f)]
    public void Rows_read_back_what_was_written_within_the_type_precision(KvCacheType type, int row, float tolerance)
    {
        var rng = new Random(3);
        var values = Enumerable.Range(0, row).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        long bytes = LatentRowFormat.RowBytes(type, row);
        var stored = new byte[bytes + 8];
        stored[^1] = 0xA5;
        var back = new float[row];
        fixed (byte* p = stored)
        {
            LatentRowFormat.Write(type, values, p);
            LatentRowFormat.Read(type, p, back);
        }
        for (int i = 0; i < row; i++)
            Assert.True(Math.Abs(back[i] - values[i]) <= tolerance, $"{type} value {i}: {back[i]} vs {values[i]}");
        Assert.Equal(0xA5, stored[^1]);   // nothing written past the row
        if (type == KvCacheType.Q8_0)
            Assert.Equal(GgmlTypes.Get(GgmlType.Q8_0).RowBytes((row + 31) / 32 * 32), bytes);
    }

    [Fact]
    public void Block_table_copies_a_shared_block_before_writing_into_it()
    {
        using var pool = new KvBlockPool(bytesPerToken: 4, capacityBlocks: 4, blockTokens: 2);
        using var owner = new KvBlockTable(pool);
        Assert.True(owner.TryReserve(3));
        owner.Advance(3);
        int shared = owner.Blocks[1];
        using var other = new KvBlockTable(pool);
        other.AttachShared(owner.Blocks[0], 2);
        other.AttachShared(shared, 1);                 // half of a block: the next write must not touch the owner's copy
        Assert.Equal(3, other.Length);
        Assert.Equal(2, pool.RefCount(shared));
        Assert.True(other.TryReserve(1));
        Assert.NotEqual(shared, other.Blocks[1]);
        Assert.Equal(1, pool.RefCount(shared));
        Assert.Equal(owner.Blocks[0], other.Blocks[0]);
        Assert.Equal(3, pool.InUse);
        other.Dispose();
        owner.Dispose();
        Assert.Equal(0, pool.InUse);
        Assert.Equal(3, pool.Allocated);   // memory stays for reuse
    }

    [Fact]
    public void Block_pool_refuses_past_its_capacity_and_reuses_freed_blocks()
    {
        using var pool = new KvBlockPool(bytesPerToken: 8, capacityBlocks: 2, blockTokens: 4);
        using var t = new KvBlockTable(pool);
        Assert.True(t.TryReserve(8));
        t.Advance(8);
        Assert.False(t.TryReserve(1));
        Assert.Equal(2, pool.InUse);
        t.Truncate(3);
        Assert.Equal(1, pool.InUse);
        Assert.True(t.TryReserve(5));
        Assert.Equal(2, pool.Allocated);
    }
}
