using System.Runtime.CompilerServices;

namespace KimiSharp.Server.Generation;

/// <summary>
/// Interleaves heartbeats (null) into a run whenever it has been quiet for a while. A long prompt evaluation on a
/// CPU sends nothing for minutes, and agents abort a silent stream and send the request again (Claude Code's idle
/// watchdog, on by default for every provider, fires after 5 minutes); a stream writes a heartbeat (Anthropic: a
/// <c>ping</c> event) for each null.
/// </summary>
public static class Heartbeats
{
    public static async IAsyncEnumerable<RunEvent?> WithHeartbeats(IAsyncEnumerable<RunEvent> run, TimeSpan every,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var events = run.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            var next = events.MoveNextAsync();
            if (!next.IsCompleted && every > TimeSpan.Zero)
            {
                var pending = next.AsTask();
                while (await Task.WhenAny(pending, Task.Delay(every, cancellationToken)) != pending)
                {
                    if (cancellationToken.IsCancellationRequested)
                        break; // the run shares the token and ends too; awaiting it keeps disposal safe
                    yield return null;
                }

                next = new ValueTask<bool>(pending);
            }

            if (!await next)
                yield break;
            yield return events.Current;
        }
    }
}
