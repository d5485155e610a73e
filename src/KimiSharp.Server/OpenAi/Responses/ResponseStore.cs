using KimiSharp.Server.Backend;

namespace KimiSharp.Server.OpenAi.Responses;

/// <summary>
/// Responses created with <c>store</c> (OpenAI's default), kept in memory for <c>previous_response_id</c>,
/// <c>GET</c> and <c>DELETE /v1/responses/{id}</c>. Bounded: at most <see cref="Capacity"/> responses and about
/// <see cref="MaxChars"/> characters of conversation; the least recently used go first. Lost on restart.
/// </summary>
public sealed class ResponseStore(int capacity = 256, long maxChars = 32L * 1024 * 1024)
{
    private readonly Dictionary<string, LinkedListNode<StoredResponse>> _byId = new(StringComparer.Ordinal);
    private readonly LinkedList<StoredResponse> _recent = new(); // most recently used first
    private readonly Lock _lock = new();
    private long _chars;

    public int Capacity { get; } = capacity;

    public long MaxChars { get; } = maxChars;

    public int Count
    {
        get
        {
            lock (_lock)
                return _byId.Count;
        }
    }

    /// <param name="conversation">Everything the response continues from and answered, instructions excepted.</param>
    public void Add(ResponseObject response, IReadOnlyList<PromptMessage> conversation)
    {
        var entry = new StoredResponse(response, conversation, Size(conversation));
        lock (_lock)
        {
            if (_byId.Remove(response.Id, out var old))
                Unlink(old);
            _byId[response.Id] = _recent.AddFirst(entry);
            _chars += entry.Chars;
            while (_recent.Count > 1 && (_recent.Count > Capacity || _chars > MaxChars))
            {
                var last = _recent.Last!;
                _byId.Remove(last.Value.Response.Id);
                Unlink(last);
            }
        }
    }

    public bool TryGet(string id, out StoredResponse stored)
    {
        lock (_lock)
        {
            if (_byId.TryGetValue(id, out var node))
            {
                _recent.Remove(node);
                _recent.AddFirst(node);
                stored = node.Value;
                return true;
            }
        }

        stored = null!;
        return false;
    }

    public bool Remove(string id)
    {
        lock (_lock)
        {
            if (!_byId.Remove(id, out var node))
                return false;
            Unlink(node);
            return true;
        }
    }

    private void Unlink(LinkedListNode<StoredResponse> node)
    {
        _recent.Remove(node);
        _chars -= node.Value.Chars;
    }

    private static long Size(IReadOnlyList<PromptMessage> conversation) =>
        conversation.Sum(m => (long)(m.Content?.Length ?? 0) + (m.ToolCalls?.Sum(c => (long)c.Arguments.Length + c.Name.Length + c.Id.Length) ?? 0) + 16);
}

/// <summary>A stored response and the conversation a follow-up continues.</summary>
public sealed record StoredResponse(ResponseObject Response, IReadOnlyList<PromptMessage> Conversation, long Chars);
