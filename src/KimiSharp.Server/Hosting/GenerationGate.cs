namespace KimiSharp.Server.Hosting;

/// <summary>
/// Admission control: at most <c>capacity</c> generation requests (running plus waiting for the engine)
/// are admitted; the next one is refused with 429 instead of queueing without bound.
/// </summary>
public sealed class GenerationGate(int capacity)
{
    private int _admitted;

    public int Admitted => Volatile.Read(ref _admitted);

    /// <summary>A lease to dispose when the request's generation ends, or throws 429.</summary>
    public IDisposable Enter()
    {
        if (Interlocked.Increment(ref _admitted) > capacity)
        {
            Interlocked.Decrement(ref _admitted);
            throw new ApiException(ApiErrorKind.RateLimited,
                $"the server is busy: {capacity} requests are already running or queued; retry shortly");
        }

        return new Lease(this);
    }

    private sealed class Lease(GenerationGate gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                Interlocked.Decrement(ref gate._admitted);
        }
    }
}
