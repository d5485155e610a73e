using KimiSharp.Models.DeepSeek2;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Models;

public unsafe class LatentKvCacheTests
{
    [Theory]
    [InlineData(KvCacheType.F32, 0f)]
    [InlineData(KvCacheType.F16, 1e-3f)]
    [InlineData(KvCacheType.Q8_0, 1e-2f)]
    public void Rows_read_back_what_was_written_within_the_type_precision(KvCacheType type, float relTolerance)
    {
        const int row = 576, tokens = 3;
        var rng = new Random(3);
        var rows = Enumerable.Range(0, tokens).Select(_ => Enumerable.Range(0, row).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
        using var cache = new LatentKvCache(layers: 2, maxTokens: 4, row, type);
        for (int t = 0; t < tokens; t++)
            cache.Write(1, t, rows[t]);
        var scratch = new float[4 * row];
        fixed (float* s = scratch)
        {
            float* back = cache.Rows(1, tokens, s, scratch.Length);
            for (int t = 0; t < tokens; t++)
                for (int i = 0; i < row; i++)
                    Assert.True(Math.Abs(back[t * row + i] - rows[t][i]) <= relTolerance, $"{type} token {t} value {i}");
        }
        Assert.Equal(LatentKvCache.RowBytesFor(type, row) * 4 * 2, cache.Bytes);
        if (type == KvCacheType.Q8_0)
            Assert.Equal(GgmlTypes.Get(GgmlType.Q8_0).RowBytes(row), LatentKvCache.RowBytesFor(type, row));
    }

    [Fact]
    public void Write_past_the_end_throws_a_clear_error()
    {
        using var cache = new LatentKvCache(1, 2, 64, KvCacheType.F32);
        var e = Assert.Throws<InvalidOperationException>(() => cache.Write(0, 2, new float[64]));
        Assert.Contains("holds 2 tokens", e.Message);
    }
}
