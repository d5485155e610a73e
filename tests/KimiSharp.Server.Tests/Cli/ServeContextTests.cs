using KimiSharp.Cli.Commands;

namespace KimiSharp.Server.Tests.Cli;

/// <summary><c>kimi serve</c> without <c>--ctx</c>: the trained context, capped by the memory the weights leave for the KV caches.</summary>
public sealed class ServeContextTests
{
    private const long GiB = 1L << 30;

    [Fact]
    public void Trained_context_is_used_when_every_parallel_cache_fits()
    {
        // The demo model: 1280 B/token, 131072 tokens, 4 sequences = 640 MiB.
        var (tokens, reason) = ServeContext.Choose(131072, 1280, 4, weightBytes: 60L << 20, new MemorySnapshot(24 * GiB, 12 * GiB));
        Assert.Equal(131072, tokens);
        Assert.StartsWith("the model's trained context", reason);
    }

    [Fact]
    public void Context_is_capped_to_what_memory_beside_the_weights_holds()
    {
        // Kimi-K2 UD-Q2_K_XL (381 GB) on 384 GiB: 61 layers × 576 F32 values = 140.5 KiB/token, 4 sequences.
        long perToken = 61 * 576 * 4;
        var memory = new MemorySnapshot(384 * GiB, 380 * GiB);
        long weights = 381_000_000_000;
        var (tokens, reason) = ServeContext.Choose(262144, perToken, 4, weights, memory);

        long budget = 384 * GiB - weights - GiB;
        Assert.InRange(tokens, 32768, 65536);
        Assert.Equal(budget / (perToken * 4) / 1024 * 1024, tokens);
        Assert.True(tokens * perToken * 4 <= budget);
        Assert.Contains("capped from the trained 262144 by memory", reason);
        Assert.Contains("--ctx", reason);
    }

    [Fact]
    public void Available_memory_caps_too_and_a_floor_keeps_the_server_usable()
    {
        var busy = ServeContext.Choose(131072, 100_000, 1, weightBytes: 0, new MemorySnapshot(64 * GiB, 3 * GiB));
        Assert.Equal((2 * GiB) / 100_000 / 1024 * 1024, busy.Tokens);

        var starved = ServeContext.Choose(131072, 100_000, 4, weightBytes: 63 * GiB, new MemorySnapshot(64 * GiB, 1 * GiB));
        Assert.Equal(4096, starved.Tokens);
        Assert.Equal(2048, ServeContext.Choose(2048, 100_000, 4, 63 * GiB, new MemorySnapshot(64 * GiB, GiB)).Tokens);
    }

    [Fact]
    public void Memory_snapshot_reads_this_machine()
    {
        var memory = MemorySnapshot.Current();
        Assert.True(memory.Total > 0);
        Assert.InRange(memory.Available, 0, memory.Total);
    }
}
