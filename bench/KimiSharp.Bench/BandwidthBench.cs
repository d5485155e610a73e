using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Attributes;
using KimiSharp.Compute;
using KimiSharp.Quants;
using KimiSharp.Tests.Quants;

namespace KimiSharp.Bench;

/// <summary>
/// The ceiling and the multi-threaded case: streaming read of a 256 MiB buffer (1 thread and all threads),
/// and a Q4_K mat-vec (28672 × 7168, ~115 MB) through MatMul on a pool of all cores.
/// </summary>
[Config(typeof(BenchConfig))]
public unsafe class BandwidthBench : IDisposable
{
    public const long StreamBytes = 256L << 20;
    public const int Q4KRows = 28672, Q4KCols = 7168;

    private NativeBuffer? stream, q4k;
    private WorkerPool? pool;
    private float[] x = [];
    private float[] y = [];

    public static int Threads => Environment.ProcessorCount;

    public static long Q4KBytes => GgmlTypes.Get(GgmlType.Q4_K).RowBytes(Q4KCols) * Q4KRows;

    [GlobalSetup]
    public void Setup()
    {
        stream = new NativeBuffer(StreamBytes);
        for (long off = 0; off < StreamBytes; off += 1 << 24)
            new Span<byte>(stream.Pointer + off, 1 << 24).Fill(1);
        q4k = new NativeBuffer(Q4KBytes);
        long rowBytes = GgmlTypes.Get(GgmlType.Q4_K).RowBytes(Q4KCols);
        const int rowsPerChunk = 1024;
        for (int r = 0; r < Q4KRows; r += rowsPerChunk)
            BlockData.Random(GgmlType.Q4_K, rowsPerChunk * Q4KCols, r, 0.05f)
                .CopyTo(new Span<byte>(q4k.Pointer + r * rowBytes, (int)(rowsPerChunk * rowBytes)));
        x = new float[Q4KCols];
        var rng = new Random(3);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        y = new float[Q4KRows];
        pool = new WorkerPool(Threads);
    }

    private static long SumRange(byte* p, long bytes)
    {
        var a0 = Vector256<long>.Zero;
        var a1 = Vector256<long>.Zero;
        for (long i = 0; i < bytes; i += 128)
        {
            a0 = Avx2.Add(a0, Avx.LoadVector256(p + i).AsInt64() ^ Avx.LoadVector256(p + i + 32).AsInt64());
            a1 = Avx2.Add(a1, Avx.LoadVector256(p + i + 64).AsInt64() ^ Avx.LoadVector256(p + i + 96).AsInt64());
        }
        return Vector256.Sum(a0 + a1);
    }

    [Benchmark]
    public long StreamRead1Thread() => SumRange(stream!.Pointer, StreamBytes);

    private struct StreamJob { public byte* P; public long Chunk; public long Result; }

    private static void StreamChunk(void* state, int i)
    {
        var job = (StreamJob*)state;
        Interlocked.Add(ref job->Result, SumRange(job->P + i * job->Chunk, job->Chunk));
    }

    [Benchmark]
    public long StreamReadAllThreads()
    {
        var job = new StreamJob { P = stream!.Pointer, Chunk = StreamBytes / 64 };
        pool!.Run(64, &StreamChunk, &job);
        return job.Result;
    }

    [Benchmark]
    /// <summary>The mat-vec with our Q4_K vec_dot (the order of llama.cpp run with --no-repack).</summary>
    public float Q4KMatVecAllThreads()
    {
        MatMul.Multiply(new QuantMatrix(q4k!.Pointer, GgmlType.Q4_K, Q4KRows, Q4KCols), x, 1, y, pool!, MatMulPath.NoRepack);
        return y[0];
    }

    /// <summary>The same mat-vec in the order of llama.cpp's repacked Q4_K gemv (our default, bit-identical to its default).</summary>
    [Benchmark]
    public float Q4KMatVecRepackOrderAllThreads()
    {
        MatMul.Multiply(new QuantMatrix(q4k!.Pointer, GgmlType.Q4_K, Q4KRows, Q4KCols), x, 1, y, pool!);
        return y[0];
    }

    [GlobalCleanup]
    public void Dispose()
    {
        stream?.Dispose();
        q4k?.Dispose();
        pool?.Dispose();
    }
}
