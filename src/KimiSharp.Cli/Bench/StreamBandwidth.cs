using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using KimiSharp.Compute;

namespace KimiSharp.Cli.Bench;

/// <summary>
/// The machine's streaming read bandwidth: a 256 MiB buffer (far beyond any cache) summed with wide loads by
/// <paramref name="threads"/> workers of the engine's own <see cref="WorkerPool"/>, one warm-up pass, then the
/// median of several passes. This is the ceiling generation speed is measured against (weights are read once per
/// token), so it reads the way the mat-vec kernels do: sequential, vector-wide, split across the pool.
/// </summary>
internal static unsafe class StreamBandwidth
{
    public const long BufferBytes = 256L << 20;
    private const int Chunks = 64;

    /// <summary>Median GB/s (10^9 bytes per second) over <paramref name="passes"/> reads of the buffer.</summary>
    public static double Measure(int threads, int passes = 7)
    {
        var buffer = (byte*)NativeMemory.AlignedAlloc((nuint)BufferBytes, 4096);
        try
        {
            new Span<byte>(buffer, (int)BufferBytes).Fill(1); // touch every page
            using var pool = new WorkerPool(threads);
            var job = new Job { Buffer = buffer, Chunk = BufferBytes / Chunks };
            pool.Run(Chunks, &Read, &job); // warm-up
            var rates = new double[passes];
            for (int i = 0; i < passes; i++)
            {
                var watch = Stopwatch.StartNew();
                pool.Run(Chunks, &Read, &job);
                rates[i] = BufferBytes / watch.Elapsed.TotalSeconds / 1e9;
            }
            if (job.Sum == 0) throw new InvalidOperationException("the bandwidth probe read nothing"); // keeps the reads alive
            return Statistics.Median(rates);
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    private struct Job
    {
        public byte* Buffer;
        public long Chunk;
        public long Sum;
    }

    private static void Read(void* state, int chunk)
    {
        var job = (Job*)state;
        long sum = Vector256.IsHardwareAccelerated
            ? Sum256(job->Buffer + chunk * job->Chunk, job->Chunk)
            : Sum128(job->Buffer + chunk * job->Chunk, job->Chunk);
        Interlocked.Add(ref job->Sum, sum);
    }

    private static long Sum256(byte* p, long bytes)
    {
        Vector256<long> a = default, b = default;
        for (long i = 0; i < bytes; i += 128)
        {
            a += Vector256.Load((long*)(p + i)) ^ Vector256.Load((long*)(p + i + 32));
            b += Vector256.Load((long*)(p + i + 64)) ^ Vector256.Load((long*)(p + i + 96));
        }
        return Vector256.Sum(a + b) + 1;
    }

    private static long Sum128(byte* p, long bytes)
    {
        Vector128<long> a = default, b = default;
        for (long i = 0; i < bytes; i += 64)
        {
            a += Vector128.Load((long*)(p + i)) ^ Vector128.Load((long*)(p + i + 16));
            b += Vector128.Load((long*)(p + i + 32)) ^ Vector128.Load((long*)(p + i + 48));
        }
        return Vector128.Sum(a + b) + 1;
    }
}
