using System.Diagnostics;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Bench;

/// <summary>
/// `attention MODEL N [N…]`: prompt speed of the exact path (llama.cpp's order, F32 cache, one query row at a time)
/// against the default (flash kernel, F16 cache) on 2 threads, alternating, best of 3 per size; then how close the
/// default's logits are to the exact ones over the positions of a 256-token prompt (top-1 agreement, mean KL).
/// </summary>
internal static class AttentionProbe
{
    public static void Run(string path, int[] sizes)
    {
        using var exact = DeepSeek2Model.Load(path, new ModelOptions(2, Exact: true));
        using var fast = DeepSeek2Model.Load(path, new ModelOptions(2));
        var rng = new Random(1);
        int vocab = fast.VocabSize;
        var logits = new float[vocab];
        Console.WriteLine("| tokens | exact tok/s | default tok/s | speed-up |");
        Console.WriteLine("| ---: | ---: | ---: | ---: |");
        foreach (int n in sizes)
        {
            var prompt = Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
            double Time(DeepSeek2Model m)
            {
                using var s = m.CreateSession(n);
                var watch = Stopwatch.StartNew();
                s.Forward(prompt, logits);
                return watch.Elapsed.TotalSeconds;
            }
            Time(exact);
            Time(fast);
            double bestExact = double.MaxValue, bestFast = double.MaxValue;
            for (int rep = 0; rep < 3; rep++)
            {
                bestExact = Math.Min(bestExact, Time(exact));
                bestFast = Math.Min(bestFast, Time(fast));
            }
            Console.WriteLine($"| {n} | {n / bestExact:F0} | {n / bestFast:F0} | {bestExact / bestFast:F2} |");
        }

        const int count = 256;
        var tokens = Enumerable.Range(0, count).Select(_ => rng.Next(vocab)).ToArray();
        float[] All(DeepSeek2Model m)
        {
            var all = new float[count * vocab];
            using var s = m.CreateSession(count);
            s.ForwardAll(tokens, all);
            return all;
        }
        var (reference, candidate) = (All(exact), All(fast));
        int agree = 0;
        double kl = 0;
        for (int t = 0; t < count; t++)
        {
            var p = reference.AsSpan(t * vocab, vocab);
            var q = candidate.AsSpan(t * vocab, vocab);
            if (ArgMax(p) == ArgMax(q))
                agree++;
            kl += KullbackLeibler(p, q);
        }
        Console.WriteLine($"default vs exact over {count} positions: top-1 agreement {100.0 * agree / count:F1}%, mean KL {kl / count:E2}");
    }

    private static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++)
            if (x[i] > x[best])
                best = i;
        return best;
    }

    /// <summary>KL(softmax p ‖ softmax q) in double.</summary>
    private static double KullbackLeibler(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        double mp = double.NegativeInfinity, mq = double.NegativeInfinity;
        for (int i = 0; i < p.Length; i++)
        {
            mp = Math.Max(mp, p[i]);
            mq = Math.Max(mq, q[i]);
        }
        double zp = 0, zq = 0;
        for (int i = 0; i < p.Length; i++)
        {
            zp += Math.Exp(p[i] - mp);
            zq += Math.Exp(q[i] - mq);
        }
        double lzp = Math.Log(zp), lzq = Math.Log(zq), kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double lp = p[i] - mp - lzp, lq = q[i] - mq - lzq;
            kl += Math.Exp(lp) * (lp - lq);
        }
        return kl;
    }
}

/// <summary>
/// `attention-kernel HEADS LATENT ROPE START TOKENS [f32|f16|q8_0] [THREADS]`: the flash kernel alone on random rows,
/// in GFMA/s (score and value products: tokens·heads·visible·(2·latent + rope)), by wall time and by process CPU time
/// (the machine is shared; CPU time is the steadier of the two).
/// </summary>
internal static unsafe class AttentionKernelProbe
{
    public static void Run(string[] args)
    {
        int heads = int.Parse(args[0]), latent = int.Parse(args[1]), rope = int.Parse(args[2]);
        int start = int.Parse(args[3]), tokens = int.Parse(args[4]);
        var type = args.Length > 5 ? Enum.Parse<KimiSharp.Quants.GgmlType>(args[5], ignoreCase: true) : KimiSharp.Quants.GgmlType.F16;
        int threads = args.Length > 6 ? int.Parse(args[6]) : 2;
        int row = latent + rope, rows = start + tokens;
        var rng = new Random(1);
        long rowBytes = KimiSharp.Quants.GgmlTypes.Get(type).RowBytes(row); // row must be whole Q8_0 blocks here
        var cache = new byte[rowBytes * rows];
        var values = new float[row];
        for (int j = 0; j < rows; j++)
        {
            for (int d = 0; d < row; d++) values[d] = (float)(rng.NextDouble() * 2 - 1);
            KimiSharp.Quants.QuantCodecs.Quantize(type, values, cache.AsSpan((int)(j * rowBytes), (int)rowBytes));
        }
        var q = Enumerable.Range(0, tokens * heads * row).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var o = new float[heads * tokens * latent];
        using var pool = new KimiSharp.Compute.WorkerPool(threads);
        using var scratch = new KimiSharp.Compute.FlashAttentionScratch(threads, heads, latent, rope);
        double fma = 0;
        for (int t = 0; t < tokens; t++) fma += (double)heads * (start + t + 1) * (2 * latent + rope);
        fixed (byte* c = cache)
        fixed (float* qp = q, op = o)
        {
            var input = new KimiSharp.Compute.LatentAttentionInput
            {
                Queries = qp, Tokens = tokens, Heads = heads, Latent = latent, Rope = rope, Start = start, Scale = 0.1f,
                Output = op, OutputHeadStride = (long)tokens * latent, OutputTokenStride = latent,
            };
            // One page holding every row (the engine's pages are 32 rows; block sizes adapt to either).
            nint page = (nint)c;
            var view = new KimiSharp.Compute.PagedRows(&page, rows, 0, rowBytes, type, row, rows);
            KimiSharp.Compute.FlashLatentAttention.Attend(input, view, scratch, pool);
            int reps = Math.Max(3, (int)(2e10 / fma));
            var process = System.Diagnostics.Process.GetCurrentProcess();
            var cpu0 = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            for (int r = 0; r < reps; r++)
                KimiSharp.Compute.FlashLatentAttention.Attend(input, view, scratch, pool);
            double wall = watch.Elapsed.TotalSeconds;
            process.Refresh();
            double cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
            Console.WriteLine($"{heads}h {latent}+{rope} {type} start {start} tokens {tokens} threads {threads} (block {scratch.KeyBlock}): " +
                $"{fma * reps / wall / 1e9:F1} GFMA/s wall, {fma * reps / cpu / 1e9:F1} GFMA/s per CPU-second, {wall / reps * 1e3:F2} ms/call");
        }
    }
}

/// <summary>
/// `decode-stages MODEL DEPTH [STEPS]`: where a decode step's time goes after DEPTH tokens of context (default path,
/// 2 threads): time between consecutive observed tensors summed over layers, mean per step.
/// </summary>
internal static class DecodeStageProbe
{
    public static void Run(string path, int depth, int steps)
    {
        using var model = DeepSeek2Model.Load(path, new ModelOptions(2));
        var rng = new Random(1);
        var logits = new float[model.VocabSize];
        using var s = model.CreateSession(depth + steps + 1);
        var prompt = Enumerable.Range(0, depth).Select(_ => rng.Next(model.VocabSize)).ToArray();
        var watch = Stopwatch.StartNew();
        s.Forward(prompt, logits);
        Console.WriteLine($"prefill {depth} tokens: {watch.Elapsed.TotalSeconds:F1} s");
        var totals = new Dictionary<string, double>();
        long last = 0;
        string lastName = "start";
        model.Forward.Observer = (name, _) =>
        {
            long now = Stopwatch.GetTimestamp();
            string key = lastName.Split('-')[0] + "→" + name.Split('-')[0];
            totals[key] = totals.GetValueOrDefault(key) + Stopwatch.GetElapsedTime(last, now).TotalMilliseconds;
            last = Stopwatch.GetTimestamp();
            lastName = name;
        };
        double total = 0;
        for (int i = 0; i < steps; i++)
        {
            lastName = "start";
            last = Stopwatch.GetTimestamp();
            long t0 = Stopwatch.GetTimestamp();
            s.Forward([rng.Next(model.VocabSize)], logits);
            total += Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Console.WriteLine($"{"TOTAL",-45} {total / steps,8:F2} ms");
        foreach (var kv in totals.OrderByDescending(k => k.Value).Take(20))
            Console.WriteLine($"{kv.Key,-45} {kv.Value / steps,8:F2} ms");
    }
}
