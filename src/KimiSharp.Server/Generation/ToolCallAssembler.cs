using System.Text;

namespace KimiSharp.Server.Generation;

/// <summary>A tool call whose arguments are complete: its position in the reply, client id, name and JSON arguments text.</summary>
public sealed record AssembledToolCall(int Index, string Id, string Name, string Arguments);

/// <summary>
/// Joins a run's tool-call events into whole calls, for APIs that send each call in one piece. A call is complete
/// once the next one starts or the run finishes; a call the run discarded (cut off by max tokens) never comes out.
/// </summary>
public sealed class ToolCallAssembler
{
    private readonly SortedDictionary<int, (string Id, string Name, StringBuilder Arguments)> _open = new();

    /// <summary>Feeds one event; returns the calls it completed (usually none).</summary>
    public IReadOnlyList<AssembledToolCall> Push(RunEvent e)
    {
        switch (e)
        {
            case ToolStartEvent start:
                var completed = TakeAll();
                _open[start.Index] = (start.ClientId, start.Name, new StringBuilder());
                return completed;
            case ToolArgumentsEvent arguments when _open.TryGetValue(arguments.Index, out var call):
                call.Arguments.Append(arguments.Fragment);
                return [];
            case ToolDiscardedEvent discarded:
                _open.Remove(discarded.Index);
                return [];
            case RunFinished:
                return TakeAll();
            default:
                return [];
        }
    }

    private List<AssembledToolCall> TakeAll()
    {
        if (_open.Count == 0)
            return [];
        var calls = _open.Select(p => new AssembledToolCall(p.Key, p.Value.Id, p.Value.Name, p.Value.Arguments.ToString())).ToList();
        _open.Clear();
        return calls;
    }
}
