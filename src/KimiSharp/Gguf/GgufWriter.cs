using System.Text;
using KimiSharp.Quants;

namespace KimiSharp.Gguf;

/// <summary>
/// Writes GGUF v3 files: metadata of every type in insertion order, tensors of any ggml type from raw bytes,
/// each tensor padded to the alignment (general.alignment is written when it is not the default 32).
/// Tensor data can be given as bytes or streamed by a callback, so multi-GB files never sit in memory.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<string> _keys = [];
    private readonly Dictionary<string, GgufValue> _values = new(StringComparer.Ordinal);
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);

    /// <summary>Writes the tensor's bytes to the stream: exactly its byte size (it may seek forward to leave zeros).</summary>
    public delegate void TensorDataWriter(Stream output);

    private sealed record PendingTensor(string Name, GgmlType Type, long[] Dims, long ByteSize, TensorDataWriter Write);

    public GgufWriter(uint alignment = GgufParser.DefaultAlignment)
    {
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            throw new ArgumentException($"alignment must be a power of two, got {alignment}", nameof(alignment));
        Alignment = alignment;
    }

    public uint Alignment { get; }

    public IReadOnlyList<string> Keys => _keys;
    public int TensorCount => _tensors.Count;

    /// <summary>Sets a key (replacing an earlier value but keeping its position).</summary>
    public void Set(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key == "general.alignment")
            throw new ArgumentException("general.alignment is written by the writer from its Alignment; pass it to the constructor", nameof(key));
        if (key.StartsWith("split.", StringComparison.Ordinal))
            throw new ArgumentException("split.* keys are written by WriteSplit", nameof(key));
        if (!_values.ContainsKey(key))
            _keys.Add(key);
        _values[key] = value;
    }

    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out GgufValue value) => _values.TryGetValue(key, out value);

    public bool Remove(string key)
    {
        if (!_values.Remove(key))
            return false;
        _keys.Remove(key);
        return true;
    }

    public void SetUInt8(string key, byte v) => Set(key, GgufValue.From(v));
    public void SetInt8(string key, sbyte v) => Set(key, GgufValue.From(v));
    public void SetUInt16(string key, ushort v) => Set(key, GgufValue.From(v));
    public void SetInt16(string key, short v) => Set(key, GgufValue.From(v));
    public void SetUInt32(string key, uint v) => Set(key, GgufValue.From(v));
    public void SetInt32(string key, int v) => Set(key, GgufValue.From(v));
    public void SetFloat32(string key, float v) => Set(key, GgufValue.From(v));
    public void SetBool(string key, bool v) => Set(key, GgufValue.From(v));
    public void SetString(string key, string v) => Set(key, GgufValue.From(v));
    public void SetUInt64(string key, ulong v) => Set(key, GgufValue.From(v));
    public void SetInt64(string key, long v) => Set(key, GgufValue.From(v));
    public void SetFloat64(string key, double v) => Set(key, GgufValue.From(v));
    public void SetArray<T>(string key, T[] values) => Set(key, GgufValue.FromArray(values));

    /// <summary>Bytes of a tensor of <paramref name="type"/> with ggml-order <paramref name="dims"/>.</summary>
    public static long TensorByteSize(GgmlType type, long[] dims)
    {
        var info = GgmlTypes.Get(type);
        if (dims.Length is 0 or > GgufParser.MaxDims)
            throw new ArgumentException($"a tensor has 1 to {GgufParser.MaxDims} dimensions, got {dims.Length}", nameof(dims));
        long size = info.RowBytes(dims[0]);
        for (var i = 1; i < dims.Length; i++)
        {
            if (dims[i] < 0)
                throw new ArgumentException($"dimension {i} is negative", nameof(dims));
            size = checked(size * dims[i]);
        }
        return size;
    }

    public void AddTensor(string name, GgmlType type, long[] dims, ReadOnlyMemory<byte> data)
    {
        var size = TensorByteSize(type, dims);
        if (data.Length != size)
            throw new ArgumentException($"tensor '{name}' {type} {{{string.Join(", ", dims)}}} needs {size} bytes, got {data.Length}", nameof(data));
        AddTensor(name, type, dims, s => s.Write(data.Span));
    }

    /// <summary>Adds a tensor whose bytes are produced while writing (called once per Write).</summary>
    public void AddTensor(string name, GgmlType type, long[] dims, TensorDataWriter writeData)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (Encoding.UTF8.GetByteCount(name) > GgufParser.MaxNameLength)
            throw new ArgumentException($"tensor name '{name}' is longer than {GgufParser.MaxNameLength} bytes", nameof(name));
        if (!_tensorNames.Add(name))
            throw new ArgumentException($"duplicate tensor name '{name}'", nameof(name));
        _tensors.Add(new PendingTensor(name, type, (long[])dims.Clone(), TensorByteSize(type, dims), writeData));
    }

    /// <summary>Writes one file.</summary>
    public void Write(string path) => WritePart(path, _keys, _tensors, null);

    /// <summary>
    /// Writes <paramref name="parts"/> files <c>PREFIX-0000k-of-0000N.gguf</c> as gguf-split does: every key in part 1,
    /// only split.* keys in the others, tensors in order, divided so parts hold similar byte counts.
    /// </summary>
    public IReadOnlyList<string> WriteSplit(string pathPrefixWithoutExt, int parts)
    {
        if (parts < 1 || parts > 99999)
            throw new ArgumentOutOfRangeException(nameof(parts), "a split set has 1 to 99999 parts");
        if (parts > _tensors.Count)
            throw new ArgumentOutOfRangeException(nameof(parts), $"cannot split {_tensors.Count} tensors into {parts} non-empty parts");
        var total = _tensors.Sum(t => t.ByteSize);
        var groups = new List<List<PendingTensor>>();
        var index = 0;
        long written = 0;
        for (var k = 0; k < parts; k++)
        {
            var group = new List<PendingTensor>();
            var target = (long)((double)total * (k + 1) / parts);
            // Take at least one tensor, leave at least one for each remaining part.
            while (index < _tensors.Count && _tensors.Count - index > parts - k - 1 &&
                   (group.Count == 0 || k == parts - 1 || written + _tensors[index].ByteSize <= target))
            {
                written += _tensors[index].ByteSize;
                group.Add(_tensors[index++]);
            }
            groups.Add(group);
        }
        var paths = new List<string>(parts);
        for (var k = 0; k < parts; k++)
        {
            var path = GgufSplitName.PartPath(pathPrefixWithoutExt, k + 1, parts);
            var split = new List<(string, GgufValue)>
            {
                ("split.no", GgufValue.From((ushort)k)),
                ("split.count", GgufValue.From((ushort)parts)),
                ("split.tensors.count", GgufValue.From(_tensors.Count)),
            };
            WritePart(path, k == 0 ? _keys : [], groups[k], split);
            paths.Add(path);
        }
        return paths;
    }

    private void WritePart(string path, IReadOnlyList<string> keys, IReadOnlyList<PendingTensor> tensors, List<(string Key, GgufValue Value)>? extra)
    {
        var kv = new List<(string Key, GgufValue Value)>();
        if (Alignment != GgufParser.DefaultAlignment)
            kv.Add(("general.alignment", GgufValue.From(Alignment)));
        kv.AddRange(keys.Select(k => (k, _values[k])));
        if (extra is not null)
            kv.AddRange(extra);

        using var fs = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        using (var w = new BinaryWriter(fs, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(GgufParser.Magic);
            w.Write(3u);
            w.Write((ulong)tensors.Count);
            w.Write((ulong)kv.Count);
            foreach (var (key, value) in kv)
            {
                WriteString(w, key);
                WriteValue(w, value);
            }
            long offset = 0;
            foreach (var t in tensors)
            {
                WriteString(w, t.Name);
                w.Write((uint)t.Dims.Length);
                foreach (var d in t.Dims)
                    w.Write(d);
                w.Write((int)t.Type);
                w.Write((ulong)offset);
                offset = PadTo(offset + t.ByteSize);
            }
            w.Flush();
        }
        WriteZeros(fs, PadTo(fs.Position) - fs.Position);
        foreach (var t in tensors)
        {
            var start = fs.Position;
            t.Write(fs);
            if (fs.Position - start != t.ByteSize)
                throw new InvalidOperationException($"tensor '{t.Name}' wrote {fs.Position - start} bytes, expected {t.ByteSize}");
            WriteZeros(fs, PadTo(fs.Position) - fs.Position);
        }
        if (fs.Length < fs.Position)
            fs.SetLength(fs.Position);
    }

    private long PadTo(long n) => (n + Alignment - 1) / Alignment * Alignment;

    private static void WriteZeros(Stream s, long n)
    {
        Span<byte> zeros = stackalloc byte[64];
        zeros.Clear();
        while (n > 0)
        {
            var k = (int)Math.Min(n, zeros.Length);
            s.Write(zeros[..k]);
            n -= k;
        }
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValue v)
    {
        w.Write((uint)v.Type);
        if (!v.IsArray)
        {
            WriteScalar(w, v.Type, v.Value);
            return;
        }
        w.Write((uint)v.ElementType);
        var array = (Array)v.Value;
        w.Write((ulong)array.LongLength);
        switch (array)
        {
            case byte[] b: w.Write(b); break;
            case string[] s: foreach (var x in s) WriteString(w, x); break;
            case bool[] bools: foreach (var x in bools) w.Write((byte)(x ? 1 : 0)); break;
            default:
                foreach (var x in array)
                    WriteScalar(w, v.ElementType, x!);
                break;
        }
    }

    private static void WriteScalar(BinaryWriter w, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.UInt8: w.Write((byte)value); break;
            case GgufValueType.Int8: w.Write((sbyte)value); break;
            case GgufValueType.UInt16: w.Write((ushort)value); break;
            case GgufValueType.Int16: w.Write((short)value); break;
            case GgufValueType.UInt32: w.Write((uint)value); break;
            case GgufValueType.Int32: w.Write((int)value); break;
            case GgufValueType.Float32: w.Write((float)value); break;
            case GgufValueType.Bool: w.Write((byte)((bool)value ? 1 : 0)); break;
            case GgufValueType.String: WriteString(w, (string)value); break;
            case GgufValueType.UInt64: w.Write((ulong)value); break;
            case GgufValueType.Int64: w.Write((long)value); break;
            case GgufValueType.Float64: w.Write((double)value); break;
            default: throw new ArgumentException($"cannot write a {type} scalar");
        }
    }
}
