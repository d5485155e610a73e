using System.Runtime.InteropServices;

namespace KimiSharp.Compute;

/// <summary>A unit of parallel work for <see cref="WorkerPool.Run(int, IParallelWork)"/>: Execute(i) for every task index i.</summary>
public interface IParallelWork
{
    void Execute(int task);
}

/// <summary>
/// Persistent worker threads for data-parallel kernels. <see cref="Run(int, IParallelWork)"/> hands out task indices
/// 0..tasks−1 dynamically (an atomic counter) to the calling thread and <see cref="Threads"/>−1 workers, and returns
/// when all are done. Workers spin briefly for the next job, then sleep; nothing is allocated per call.
/// One caller at a time (the engine's compute thread); nested Run from inside a task is rejected.
/// </summary>
public sealed unsafe class WorkerPool : IDisposable
{
    /// <summary>How long an idle worker polls for the next job before sleeping (decode issues jobs microseconds apart).</summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 2000; // 0.5 ms

    private readonly Thread[] workers;
    private readonly object gate = new();
    private long generation;
    private int sleepers;
    private int pending;
    private int nextTask;
    private int taskCount;
    private delegate* managed<void*, int, void> fnWork;
    private void* fnState;
    private IParallelWork? objWork;
    private Exception? failure;
    private int running;
    private volatile bool disposed;
    private byte* scratch;
    private nuint scratchBytes;

    public WorkerPool(int threads)
    {
        if (threads < 1)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "a worker pool needs at least one thread");
        Threads = threads;
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"KimiSharp worker {i + 1}" };
            workers[i].Start();
        }
    }

    /// <summary>Threads that execute tasks, the caller of Run included.</summary>
    public int Threads { get; }

    /// <summary>Runs work(state, i) for i in 0..tasks−1 across the pool; the first exception thrown by a task is rethrown.</summary>
    public void Run(int tasks, delegate* managed<void*, int, void> work, void* state)
    {
        if (work == null) throw new ArgumentNullException(nameof(work));
        Dispatch(tasks, work, state, null);
    }

    /// <summary>Runs work.Execute(i) for i in 0..tasks−1 across the pool (reuse the work object to stay allocation-free).</summary>
    public void Run(int tasks, IParallelWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Dispatch(tasks, null, null, work);
    }

    /// <summary>A 64-byte-aligned buffer of at least <paramref name="bytes"/> bytes owned by the pool, reused across calls
    /// (contents undefined; valid until the next call that asks for more, or Dispose).</summary>
    public byte* Scratch(long bytes)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if ((ulong)bytes > scratchBytes)
        {
            if (scratch != null) NativeMemory.AlignedFree(scratch);
            scratch = null;
            scratchBytes = 0;
            nuint size = (nuint)Math.Max(bytes, 4096);
            scratch = (byte*)NativeMemory.AlignedAlloc(size, 64);
            scratchBytes = size;
        }
        return scratch;
    }

    private void Dispatch(int tasks, delegate* managed<void*, int, void> fn, void* state, IParallelWork? work)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(tasks);
        if (tasks == 0) return;
        if (Interlocked.Exchange(ref running, 1) != 0)
            throw new InvalidOperationException("WorkerPool.Run is not reentrant: it was called while another Run is in progress");
        try
        {
            if (workers.Length == 0 || tasks == 1)
            {
                for (int i = 0; i < tasks; i++)
                    Invoke(fn, state, work, i);
                return;
            }
            fnWork = fn;
            fnState = state;
            objWork = work;
            failure = null;
            taskCount = tasks;
            nextTask = 0;
            Volatile.Write(ref pending, workers.Length);
            Interlocked.Increment(ref generation);
            if (Volatile.Read(ref sleepers) > 0)
                lock (gate) Monitor.PulseAll(gate);

            DrainTasks();

            var spin = new SpinWait();
            while (Volatile.Read(ref pending) != 0)
                spin.SpinOnce(sleep1Threshold: -1);
            objWork = null;
            if (failure is { } e)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
        }
        finally
        {
            Volatile.Write(ref running, 0);
        }
    }

    private static void Invoke(delegate* managed<void*, int, void> fn, void* state, IParallelWork? work, int i)
    {
        if (fn != null) fn(state, i);
        else work!.Execute(i);
    }

    private void DrainTasks()
    {
        var fn = fnWork;
        var state = fnState;
        var work = objWork;
        int count = taskCount;
        try
        {
            while (true)
            {
                int i = Interlocked.Increment(ref nextTask) - 1;
                if (i >= count) break;
                Invoke(fn, state, work, i);
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref failure, e, null);
            Volatile.Write(ref nextTask, count); // stop handing out tasks
        }
    }

    private void WorkerLoop()
    {
        long seen = 0;
        while (true)
        {
            long g = WaitForGeneration(seen);
            if (disposed) return;
            seen = g;
            DrainTasks();
            Interlocked.Decrement(ref pending);
        }
    }

    private long WaitForGeneration(long seen)
    {
        var spin = new SpinWait();
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        while (System.Diagnostics.Stopwatch.GetTimestamp() - start < SpinTicks)
        {
            long g = Volatile.Read(ref generation);
            if (g != seen || disposed) return g;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        lock (gate)
        {
            Interlocked.Increment(ref sleepers);
            try
            {
                while (Volatile.Read(ref generation) == seen && !disposed)
                    Monitor.Wait(gate);
            }
            finally
            {
                Interlocked.Decrement(ref sleepers);
            }
        }
        return Volatile.Read(ref generation);
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Interlocked.Increment(ref generation);
        lock (gate) Monitor.PulseAll(gate);
        foreach (var t in workers) t.Join();
        if (scratch != null) NativeMemory.AlignedFree(scratch);
        scratch = null;
        scratchBytes = 0;
    }
}
