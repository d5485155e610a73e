using System.Diagnostics;
using System.Runtime.InteropServices;
using KimiSharp.Compute;
using KimiSharp.Quants;

namespace KimiSharp.Bench;

/// <summary>
/// `moe TYPE TOKENS [THREADS]`: one kimi-bench-shaped MoE layer (64 experts of 2048 → 512 → 2048, 8 used per token, one
/// shared expert) through <see cref="FusedFfn"/>, best of 10 runs, as GMAC/s of the experts' products (random routing).
/// </summary>
internal static unsafe class MoeBench
{
    public static void Run(GgmlType type, int tokens, int threads)
    {
        const int experts = 64, used = 8, embd = 2048, ff = 512;
        long gateBytes = GgmlTypes.Get(type).RowBytes(embd) * ff, downBytes = GgmlTypes.Get(type).RowBytes(ff) * embd;
        long total = (experts + 1) * (2 * gateBytes + downBytes);
        byte* w = (byte*)NativeMemory.AlignedAlloc((nuint)total, 64);
        RandomBlocks.Fill(type, new Span<byte>(w, checked((int)total)), new Random(1), 0.05f);
        QuantMatrix Gate(int e) => new(w + e * (2 * gateBytes + downBytes), type, ff, embd);
        QuantMatrix Up(int e) => new(w + e * (2 * gateBytes + downBytes) + gateBytes, type, ff, embd);
        QuantMatrix Down(int e) => new(w + e * (2 * gateBytes + downBytes) + 2 * gateBytes, type, embd, ff);
        var rng = new Random(2);
        var x = new float[tokens * embd];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var chosen = new List<int>[experts];
        for (int e = 0; e < experts; e++) chosen[e] = [];
        for (int t = 0; t < tokens; t++)
            foreach (int e in Enumerable.Range(0, experts).OrderBy(_ => rng.Next()).Take(used))
                chosen[e].Add(t);
        var all = Enumerable.Range(0, tokens).ToArray();
        var y = new float[tokens * embd];
        using var pool = new WorkerPool(threads);
        using var ffn = new FusedFfn(pool);
        double best = double.MaxValue;
        for (int rep = 0; rep < 11; rep++)
        {
            long t0 = Stopwatch.GetTimestamp();
            ffn.Clear();
            for (int e = 0; e < experts; e++)
                if (chosen[e].Count > 0)
                    ffn.Add(Gate(e), Up(e), Down(e), chosen[e].ToArray(), Enumerable.Repeat(0.125f, chosen[e].Count).ToArray());
            ffn.Add(Gate(experts), Up(experts), Down(experts), all, default);
            ffn.Run(x, tokens, y, batchInvariant: false);
            if (rep > 0) best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        double macs = (double)tokens * (used + 1) * 3 * embd * ff;
        Console.WriteLine($"{type} moe T={tokens} threads={threads}: {best * 1e3:F2} ms, {macs / best / 1e9:F1} GMAC/s");
        NativeMemory.AlignedFree(w);
    }
}
