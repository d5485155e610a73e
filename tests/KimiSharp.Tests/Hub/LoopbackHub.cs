using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace KimiSharp.Tests.Hub;

/// <summary>
/// A tiny HTTP/1.1 server on 127.0.0.1 imitating the hub: GET /api/models/{repo}/tree/main?recursive=true
/// (JSON listing with lfs.oid = SHA-256), GET /{repo}/resolve/main/{path} answering 302 to /cdn/{path}
/// like the real hub, and /cdn/{path} serving bytes with Range support. Faults can be scripted per file:
/// drop the connection after N body bytes, or send corrupted bytes. It counts the body bytes it served.
/// </summary>
internal sealed class LoopbackHub : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _served = new();
    private readonly Dictionary<string, Queue<Fault>> _faults = new();
    private readonly Lock _lock = new();

    public LoopbackHub(string repo)
    {
        Repo = repo;
        _listener.Start();
        _accepting = AcceptLoop();
    }

    public string Repo { get; }
    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
    public List<string> RequestLog { get; } = [];
    public List<string?> AuthorizationHeaders { get; } = [];
    public bool ListWithoutSha { get; set; }

    /// <summary>Page size of the tree listing (pages are linked with Link: rel="next" as the hub does); 0 = one page.</summary>
    public int PageSize { get; set; }

    public void AddFile(string path, byte[] content) => _files[path] = content;

    /// <summary>The next download of <paramref name="path"/> misbehaves once.</summary>
    public void AddFault(string path, Fault fault)
    {
        lock (_lock)
        {
            if (!_faults.TryGetValue(path, out var q)) _faults[path] = q = new Queue<Fault>();
            q.Enqueue(fault);
        }
    }

    public long ServedBytes(string path) { lock (_lock) return _served.GetValueOrDefault(path); }

    public long TotalServedBytes { get { lock (_lock) return _served.Values.Sum(); } }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }
            _ = Task.Run(() => Handle(client));
        }
    }

    private async Task Handle(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var (method, target, headers) = await ReadRequest(stream);
            lock (_lock)
            {
                RequestLog.Add($"{method} {target}");
                AuthorizationHeaders.Add(headers.GetValueOrDefault("authorization"));
            }
            string path = target.Split('?')[0];
            string treePrefix = $"/api/models/{Repo}/tree/main";
            string resolvePrefix = $"/{Repo}/resolve/main/";
            if (path == treePrefix)
            {
                await Listing(stream, target);
            }
            else if (path.StartsWith(resolvePrefix, StringComparison.Ordinal))
            {
                await Write(stream, "302 Found", [("Location", "/cdn/" + path[resolvePrefix.Length..])], []);
            }
            else if (path.StartsWith("/cdn/", StringComparison.Ordinal) && _files.ContainsKey(Uri.UnescapeDataString(path[5..])))
            {
                await Serve(stream, Uri.UnescapeDataString(path[5..]), headers.GetValueOrDefault("range"));
            }
            else
            {
                await Write(stream, "404 Not Found", [("Content-Type", "application/json")], "{\"error\":\"Entry not found\"}"u8.ToArray());
            }
        }
        catch (IOException)
        {
            // The client went away.
        }
    }

    private async Task Listing(NetworkStream stream, string target)
    {
        var entries = new List<object>();
        var dirs = _files.Keys.Where(p => p.Contains('/')).Select(p => p[..p.LastIndexOf('/')]).Distinct();
        foreach (var d in dirs) entries.Add(new Dictionary<string, object> { ["type"] = "directory", ["oid"] = "0000", ["size"] = 0, ["path"] = d });
        foreach (var (path, content) in _files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            var entry = new Dictionary<string, object>
            {
                ["type"] = "file",
                ["oid"] = Convert.ToHexStringLower(SHA1.HashData(content)),
                ["size"] = content.LongLength,
                ["path"] = path,
            };
            if (!ListWithoutSha)
                entry["lfs"] = new Dictionary<string, object> { ["oid"] = Convert.ToHexStringLower(SHA256.HashData(content)), ["size"] = content.LongLength, ["pointerSize"] = 134 };
            entries.Add(entry);
        }
        int page = 0;
        var query = target.Contains('?') ? target[(target.IndexOf('?') + 1)..] : "";
        foreach (var kv in query.Split('&'))
            if (kv.StartsWith("cursor=", StringComparison.Ordinal)) page = int.Parse(kv[7..]);
        var extra = new List<(string, string)> { ("Content-Type", "application/json") };
        if (PageSize > 0)
        {
            var slice = entries.Skip(page * PageSize).Take(PageSize).ToList();
            if ((page + 1) * PageSize < entries.Count)
                extra.Add(("Link", $"<{Endpoint}/api/models/{Repo}/tree/main?recursive=true&cursor={page + 1}>; rel=\"next\""));
            entries = slice;
        }
        await Write(stream, "200 OK", extra, JsonSerializer.SerializeToUtf8Bytes(entries));
    }

    private async Task Serve(NetworkStream stream, string path, string? range)
    {
        byte[] content = _files[path];
        Fault? fault = null;
        lock (_lock)
            if (_faults.TryGetValue(path, out var q) && q.Count > 0) fault = q.Dequeue();

        long from = 0;
        if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal))
            from = long.Parse(range[6..].Split('-')[0]);
        if (from >= content.Length && content.Length > 0)
        {
            await Write(stream, "416 Range Not Satisfiable", [("Content-Range", $"bytes */{content.Length}")], []);
            return;
        }
        byte[] body = content[(int)from..];
        if (fault?.Corrupt == true)
        {
            body = body.ToArray();
            body[body.Length / 2] ^= 0x5A;
        }
        var headers = new List<(string, string)> { ("Content-Type", "application/octet-stream"), ("Accept-Ranges", "bytes") };
        string status = "200 OK";
        if (range is not null)
        {
            status = "206 Partial Content";
            headers.Add(("Content-Range", $"bytes {from}-{content.Length - 1}/{content.Length}"));
        }
        int send = fault?.DropAfter is { } drop ? (int)Math.Min(drop, body.Length) : body.Length;
        await Write(stream, status, headers, body, send);
        lock (_lock) _served[path] = _served.GetValueOrDefault(path) + send;
        if (send < body.Length)
            Abort(stream);
    }

    private static void Abort(NetworkStream stream) => stream.Socket.Close(0);

    private static async Task Write(NetworkStream stream, string status, List<(string, string)> headers, byte[] body, int? sendBytes = null)
    {
        var head = new StringBuilder($"HTTP/1.1 {status}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n");
        foreach (var (k, v) in headers) head.Append($"{k}: {v}\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
        await stream.WriteAsync(body.AsMemory(0, sendBytes ?? body.Length));
        await stream.FlushAsync();
    }

    private static async Task<(string Method, string Target, Dictionary<string, string> Headers)> ReadRequest(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (!(bytes.Count >= 4 && bytes[^1] == '\n' && bytes[^2] == '\r' && bytes[^3] == '\n' && bytes[^4] == '\r'))
        {
            if (await stream.ReadAsync(one) == 0) throw new IOException("client closed");
            bytes.Add(one[0]);
        }
        var lines = Encoding.ASCII.GetString(bytes.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var first = lines[0].Split(' ');
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        return (first[0], first[1], headers);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }

    public sealed record Fault(long? DropAfter = null, bool Corrupt = false);
}
