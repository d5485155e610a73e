using KimiSharp.Compute;

namespace KimiSharp.Tests.Compute;

public class WorkerPoolTests
{
    private sealed class CountingWork(int n) : IParallelWork
    {
        public readonly int[] Hits = new int[n];
        public void Execute(int task) => Interlocked.Increment(ref Hits[task]);
    }

    private sealed class ThrowingWork : IParallelWork
    {
        public void Execute(int task)
        {
            if (task == 7) throw new InvalidOperationException("task 7 failed");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Run_executes_every_task_exactly_once_across_many_calls(int threads)
    {
        using var pool = new WorkerPool(threads);
        var work = new CountingWork(97);
        for (int call = 0; call < 300; call++)
            pool.Run(call % 97 + 1, work);
        for (int i = 0; i < 97; i++)
        {
            int expected = Enumerable.Range(0, 300).Count(c => c % 97 + 1 > i);
            Assert.Equal(expected, work.Hits[i]);
        }
    }

    private static unsafe void AddTask(void* state, int task) => Interlocked.Add(ref *(long*)state, task + 1);

    [Fact]
    public unsafe void Run_with_function_pointer_passes_state()
    {
        using var pool = new WorkerPool(3);
        long sum = 0;
        pool.Run(1000, &AddTask, &sum);
        Assert.Equal(1000L * 1001 / 2, sum);
    }

    [Fact]
    public void Run_rethrows_a_task_exception_and_stays_usable()
    {
        using var pool = new WorkerPool(3);
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(50, new ThrowingWork()));
        Assert.Contains("task 7", e.Message);
        var work = new CountingWork(10);
        pool.Run(10, work);
        Assert.All(work.Hits, h => Assert.Equal(1, h));
    }

    private sealed class NestedWork(WorkerPool pool) : IParallelWork
    {
        public Exception? Caught;
        public void Execute(int task)
        {
            try { pool.Run(2, new CountingWork(2)); }
            catch (InvalidOperationException e) { Caught = e; }
        }
    }

    [Fact]
    public void Nested_run_is_rejected()
    {
        using var pool = new WorkerPool(2);
        var nested = new NestedWork(pool);
        pool.Run(1, nested);
        Assert.NotNull(nested.Caught);
    }

    [Fact]
    public void Constructor_rejects_zero_threads() => Assert.Throws<ArgumentOutOfRangeException>(() => new WorkerPool(0));

    [Fact]
    public void Disposed_pool_rejects_work()
    {
        var pool = new WorkerPool(2);
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Run(3, new CountingWork(3)));
    }
}
