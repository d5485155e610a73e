using KimiSharp.Quants;

namespace KimiSharp.Gguf;

/// <summary>
/// A GGUF file or a whole split set, memory-mapped read-only. Tensor data is never copied:
/// <see cref="GetTensorData"/> points into the map. Opening reads only the headers.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    private readonly MappedFile[] _parts;
    private readonly Dictionary<string, GgufTensorInfo> _byName;
    private readonly GgufTensorInfo[] _tensors;
    private bool _disposed;

    private GgufFile(MappedFile[] parts, GgufHeader[] headers)
    {
        _parts = parts;
        var first = headers[0];
        Version = first.Version;
        Alignment = first.Alignment;
        Metadata = first.Metadata;
        PartMetadata = headers.Select(h => h.Metadata).ToArray();
        PartPaths = parts.Select(p => p.Path).ToArray();
        TotalFileSize = parts.Sum(p => p.Length);
        _tensors = headers.SelectMany(h => h.Tensors).ToArray();
        _byName = new Dictionary<string, GgufTensorInfo>(_tensors.Length, StringComparer.Ordinal);
        foreach (var t in _tensors)
            if (!_byName.TryAdd(t.Name, t))
                throw new GgufFormatException(parts[t.Part].Path, "tensor name appears in more than one part of the split set", key: t.Name);
    }

    /// <summary>Paths of all parts (one for an unsplit file), in part order.</summary>
    public IReadOnlyList<string> PartPaths { get; }
    public long TotalFileSize { get; }
    public uint Version { get; }
    public uint Alignment { get; }

    /// <summary>All keys of part 1 (which holds every key of a split set, plus its split.* keys).</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>Metadata of each part (other parts of a split set normally hold only split.* keys).</summary>
    public IReadOnlyList<GgufMetadata> PartMetadata { get; }

    /// <summary>All tensors in file order across parts.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors => _tensors;

    public bool TryGetTensor(string name, out GgufTensorInfo tensor) => _byName.TryGetValue(name, out tensor!);

    public GgufTensorInfo GetTensor(string name) =>
        _byName.TryGetValue(name, out var t) ? t : throw new GgufFormatException(PartPaths[0], "required tensor is missing", key: name);

    /// <summary>Pointer to the tensor's bytes inside the memory map; valid until <see cref="Dispose"/>.</summary>
    public byte* GetTensorData(GgufTensorInfo t)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)t.Part >= (uint)_parts.Length || t.Offset < 0 || t.ByteSize < 0 || t.Offset > _parts[t.Part].Length - t.ByteSize)
            throw new ArgumentException($"tensor '{t.Name}' does not belong to this file", nameof(t));
        return _parts[t.Part].Pointer + t.Offset;
    }

    /// <summary>The tensor's bytes as a span over the memory map; throws when the tensor is 2 GiB or larger.</summary>
    public ReadOnlySpan<byte> GetTensorBytes(GgufTensorInfo t)
    {
        if (t.ByteSize > int.MaxValue)
            throw new NotSupportedException($"tensor '{t.Name}' is {t.ByteSize} bytes, too large for one span; use GetTensorData");
        return new ReadOnlySpan<byte>(GetTensorData(t), (int)t.ByteSize);
    }

    /// <summary>
    /// Opens a GGUF file. Given any part of <c>NAME-0000k-of-0000N.gguf</c>, opens all N parts and checks
    /// their split.no / split.count / split.tensors.count.
    /// </summary>
    public static GgufFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string[] paths;
        if (GgufSplitName.TryParse(path, out var prefix, out _, out var count) && count > 1)
            paths = Enumerable.Range(1, count).Select(k => GgufSplitName.PartPath(prefix, k, count)).ToArray();
        else
            paths = [path];

        foreach (var p in paths)
            if (!File.Exists(p))
                throw paths.Length > 1
                    ? new GgufFormatException(p, $"part of the {paths.Length}-part split set is missing (opened from {Path.GetFileName(path)})")
                    : new FileNotFoundException($"GGUF file not found: {p}", p);

        var parts = new MappedFile[paths.Length];
        var headers = new GgufHeader[paths.Length];
        try
        {
            for (var i = 0; i < paths.Length; i++)
            {
                parts[i] = new MappedFile(paths[i]);
                headers[i] = GgufParser.Parse(parts[i].Pointer, parts[i].Length, paths[i], i);
            }
            CheckSplit(paths, headers);
            return new GgufFile(parts, headers);
        }
        catch
        {
            foreach (var p in parts)
                p?.Dispose();
            throw;
        }
    }

    private static void CheckSplit(string[] paths, GgufHeader[] headers)
    {
        var n = paths.Length;
        for (var i = 0; i < n; i++)
        {
            var md = headers[i].Metadata;
            var hasCount = md.ContainsKey("split.count");
            var splitCount = hasCount ? md.GetUInt32("split.count") : 1u;
            if (n == 1)
            {
                if (splitCount > 1)
                    throw new GgufFormatException(paths[i], $"file is part {md.GetUInt32("split.no", 0) + 1} of a {splitCount}-part split set, but its name does not follow NAME-0000k-of-0000N.gguf, so the other parts cannot be found", key: "split.count");
                continue;
            }
            if (splitCount != n)
                throw new GgufFormatException(paths[i], $"split.count is {splitCount}, expected {n} (from the file names)", key: "split.count");
            var splitNo = md.GetUInt32("split.no");
            if (splitNo != i)
                throw new GgufFormatException(paths[i], $"split.no is {splitNo}, expected {i}", key: "split.no");
        }
        if (n > 1 || headers[0].Metadata.ContainsKey("split.tensors.count"))
        {
            var declared = headers[0].Metadata.GetInt64("split.tensors.count");
            var actual = headers.Sum(h => (long)h.Tensors.Count);
            if (declared != actual)
                throw new GgufFormatException(paths[0], $"split.tensors.count is {declared}, but the parts hold {actual} tensors", key: "split.tensors.count");
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var p in _parts)
            p.Dispose();
    }
}
