using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace KimiSharp.Engine;

/// <summary>
/// The persistent tier of the prefix cache: one file per KV block, named by the block's chained hash (SHA-256 over the
/// model's KV identity and every token up to the block's end, see <see cref="PrefixCache.ChainHash"/>). A file holds
/// a magic, the identity, the parent and own hashes, the tokens, the block's bytes and a SHA-256 of all of that; reading
/// checks every field, so a truncated, corrupt or foreign file is ignored (with a warning, and deleted) and the block is
/// recomputed. Writes run on a background thread into a temporary file renamed into place (atomic); the folder is kept
/// under its byte budget by deleting the least recently used files (file times carry the order across restarts).
/// </summary>
internal sealed class DiskPrefixStore : IDisposable
{
    private const string Extension = ".kvblock";
    private static readonly byte[] Magic = "KIMIKV01"u8.ToArray();
    private const long MaxPendingBytes = 256L << 20;

    private readonly string _dir;
    private readonly long _maxBytes;
    private readonly byte[] _identity;
    private readonly Action<string>? _warn;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _files = new(StringComparer.Ordinal);
    private readonly SortedSet<(long Tick, string Name)> _byAge = [];
    private readonly BlockingCollection<Pending> _queue = new();
    private readonly Thread _writer;
    private long _bytes, _pendingBytes, _tick;
    private int _pending;

    public DiskPrefixStore(string directory, long maxBytes, string identity, Action<string>? warn)
    {
        _dir = Path.GetFullPath(directory);
        _maxBytes = maxBytes;
        _identity = Encoding.UTF8.GetBytes(identity);
        _warn = warn;
        Directory.CreateDirectory(_dir);
        foreach (var path in Directory.EnumerateFiles(_dir))
        {
            var name = Path.GetFileName(path);
            if (name.EndsWith(".tmp", StringComparison.Ordinal))
            {
                TryDelete(path);   // an interrupted write
                continue;
            }
            if (!name.EndsWith(Extension, StringComparison.Ordinal)) continue;
            var info = new FileInfo(path);
            Add(name[..^Extension.Length], info.Length, info.LastWriteTimeUtc.Ticks);
        }
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "KimiSharp prefix cache writer" };
        _writer.Start();
    }

    /// <summary>Bytes of cache files on disk.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public int Files
    {
        get
        {
            lock (_lock) return _files.Count;
        }
    }

    /// <summary>Files that failed verification (and were deleted).</summary>
    public int Rejected => Volatile.Read(ref _rejected);
    private int _rejected;

    public bool Contains(byte[] hash)
    {
        lock (_lock) return _files.ContainsKey(Convert.ToHexStringLower(hash));
    }

    /// <summary>
    /// Reads the block named <paramref name="hash"/> into <paramref name="destination"/> if its file is intact and holds
    /// exactly this identity, parent, tokens and size; otherwise warns, deletes the file and returns false.
    /// </summary>
    public unsafe bool TryRead(byte[] hash, byte[] parent, int[] tokens, byte* destination, long blockBytes)
    {
        string name = Convert.ToHexStringLower(hash);
        string path = FilePath(name);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Forget(name);
            return false;
        }
        string? problem = Verify(data, hash, parent, tokens, blockBytes, out int payloadAt);
        if (problem is not null)
        {
            Interlocked.Increment(ref _rejected);
            _warn?.Invoke($"prefix cache: ignoring {path}: {problem}; the block is recomputed");
            Forget(name);
            TryDelete(path);
            return false;
        }
        data.AsSpan(payloadAt, (int)blockBytes).CopyTo(new Span<byte>(destination, (int)blockBytes));
        lock (_lock)
            if (_files.TryGetValue(name, out var entry)) Reorder(name, entry);
        try
        {
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return true;
    }

    /// <summary>Queues a block to be written (its bytes are copied now); skipped when it is already on disk or too much is pending.</summary>
    public unsafe void Write(byte[] hash, byte[] parent, int[] tokens, byte* source, long blockBytes)
    {
        string name = Convert.ToHexStringLower(hash);
        if (Contains(hash)) return;
        long size = FileSize(tokens.Length, blockBytes);
        if (Interlocked.Read(ref _pendingBytes) + size > MaxPendingBytes || _queue.IsAddingCompleted) return;
        var file = new byte[size];
        int at = WriteHeader(file, hash, parent, tokens, blockBytes);
        new ReadOnlySpan<byte>(source, (int)blockBytes).CopyTo(file.AsSpan(at));
        SHA256.HashData(file.AsSpan(0, file.Length - 32), file.AsSpan(file.Length - 32));
        Interlocked.Add(ref _pendingBytes, size);
        Interlocked.Increment(ref _pending);
        try
        {
            _queue.Add(new Pending(name, file));
        }
        catch (InvalidOperationException)
        {
            Done(size);   // shutting down
        }
    }

    /// <summary>Waits until every queued write is on disk (tests, shutdown).</summary>
    public void Flush()
    {
        var wait = new SpinWait();
        while (Volatile.Read(ref _pending) > 0 && _writer.IsAlive) wait.SpinOnce(sleep1Threshold: 10);
    }

    public void Dispose()
    {
        if (_queue.IsAddingCompleted) return;
        _queue.CompleteAdding();
        _writer.Join();
        _queue.Dispose();
    }

    private void WriteLoop()
    {
        foreach (var job in _queue.GetConsumingEnumerable())
        {
            string path = FilePath(job.Name), temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                    stream.Write(job.Data);
                File.Move(temp, path, overwrite: true);
                Add(job.Name, job.Data.Length, DateTime.UtcNow.Ticks);
                TrimToBudget();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                TryDelete(temp);
                _warn?.Invoke($"prefix cache: could not write {path}: {e.Message}");
            }
            finally
            {
                Done(job.Data.Length);
            }
        }
    }

    private void Done(long size)
    {
        Interlocked.Add(ref _pendingBytes, -size);
        Interlocked.Decrement(ref _pending);
    }

    private void TrimToBudget()
    {
        while (true)
        {
            string victim;
            lock (_lock)
            {
                if (_bytes <= _maxBytes || _byAge.Count == 0) return;
                victim = _byAge.Min.Name;
            }
            Forget(victim);
            TryDelete(FilePath(victim));
        }
    }

    private long FileSize(int tokens, long blockBytes) => Magic.Length + 4 + _identity.Length + 32 + 32 + 4 + 4L * tokens + 8 + blockBytes + 32;

    private int WriteHeader(byte[] file, byte[] hash, byte[] parent, int[] tokens, long blockBytes)
    {
        var span = file.AsSpan();
        int at = 0;
        Magic.CopyTo(span); at += Magic.Length;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], _identity.Length); at += 4;
        _identity.CopyTo(span[at..]); at += _identity.Length;
        parent.CopyTo(span[at..]); at += 32;
        hash.CopyTo(span[at..]); at += 32;
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], tokens.Length); at += 4;
        foreach (int t in tokens)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], t);
            at += 4;
        }
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], blockBytes); at += 8;
        return at;
    }

    private string? Verify(byte[] data, byte[] hash, byte[] parent, int[] tokens, long blockBytes, out int payloadAt)
    {
        payloadAt = 0;
        long expected = FileSize(tokens.Length, blockBytes);
        if (data.Length != expected) return $"{data.Length} bytes where {expected} were expected (truncated or another layout)";
        var span = data.AsSpan();
        if (!SHA256.HashData(span[..^32]).AsSpan().SequenceEqual(span[^32..])) return "its checksum does not match (corrupt)";
        int at = 0;
        if (!span[..Magic.Length].SequenceEqual(Magic)) return "not a KimiSharp KV block file";
        at += Magic.Length;
        int idLength = BinaryPrimitives.ReadInt32LittleEndian(span[at..]); at += 4;
        if (idLength != _identity.Length || !span.Slice(at, idLength).SequenceEqual(_identity)) return "written for another model or KV cache type";
        at += idLength;
        if (!span.Slice(at, 32).SequenceEqual(parent)) return "its parent prefix differs";
        at += 32;
        if (!span.Slice(at, 32).SequenceEqual(hash)) return "its name does not match its content";
        at += 32;
        if (BinaryPrimitives.ReadInt32LittleEndian(span[at..]) != tokens.Length) return "another block size";
        at += 4;
        foreach (int t in tokens)
        {
            if (BinaryPrimitives.ReadInt32LittleEndian(span[at..]) != t) return "its tokens differ";
            at += 4;
        }
        if (BinaryPrimitives.ReadInt64LittleEndian(span[at..]) != blockBytes) return "another KV block size";
        at += 8;
        payloadAt = at;
        return null;
    }

    private string FilePath(string name) => Path.Combine(_dir, name + Extension);

    private void Add(string name, long size, long tick)
    {
        lock (_lock)
        {
            if (_files.TryGetValue(name, out var old))
            {
                _byAge.Remove((old.Tick, name));
                _bytes -= old.Size;
            }
            tick = Math.Max(tick, ++_tick);
            _tick = tick;
            _files[name] = new Entry(size, tick);
            _byAge.Add((tick, name));
            _bytes += size;
        }
    }

    private void Reorder(string name, Entry entry)
    {
        _byAge.Remove((entry.Tick, name));
        long tick = Math.Max(DateTime.UtcNow.Ticks, ++_tick);
        _tick = tick;
        _files[name] = entry with { Tick = tick };
        _byAge.Add((tick, name));
    }

    private void Forget(string name)
    {
        lock (_lock)
        {
            if (!_files.Remove(name, out var entry)) return;
            _byAge.Remove((entry.Tick, name));
            _bytes -= entry.Size;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private readonly record struct Entry(long Size, long Tick);

    private sealed record Pending(string Name, byte[] Data);
}
