using System.Text;
using KimiSharp.Quants;

namespace KimiSharp.Gguf;

/// <summary>The header of one GGUF file: metadata, tensor infos (absolute offsets) and where the data starts.</summary>
internal sealed record GgufHeader(uint Version, GgufMetadata Metadata, IReadOnlyList<GgufTensorInfo> Tensors, long DataOffset, uint Alignment);

/// <summary>
/// Parses a GGUF header from memory with every read bounds-checked against the file length and every size
/// computed overflow-safe, so a malformed file can only produce <see cref="GgufFormatException"/>.
/// Strict like ggml: tensor offsets must be the running padded total; row lengths divisible by the block size.
/// </summary>
internal static unsafe class GgufParser
{
    public const uint Magic = 0x46554747; // "GGUF" little-endian
    public const uint DefaultAlignment = 32;
    public const int MaxNameLength = 63;  // ggml GGML_MAX_NAME (64) including the terminating NUL
    public const int MaxDims = 4;

    public static GgufHeader Parse(byte* data, long length, string path, int part)
    {
        var c = new Cursor(data, length, path);
        if (length < 24)
            throw new GgufFormatException(path, $"file is {length} bytes, too short for a GGUF header (24 bytes)", 0);
        var magic = c.U32();
        if (magic != Magic)
            throw new GgufFormatException(path, $"expected the magic \"GGUF\", found 0x{magic:X8}", 0);
        var version = c.U32();
        if ((version & 0xFFFF) == 0)
            throw new GgufFormatException(path, $"version 0x{version:X8} looks byte-swapped (big-endian file?); expected 2 or 3", 4);
        if (version == 1)
            throw new GgufFormatException(path, "GGUF version 1 is no longer supported; expected 2 or 3", 4);
        if (version > 3)
            throw new GgufFormatException(path, $"GGUF version {version} is newer than this reader; expected 2 or 3", 4);

        var tensorCountAt = c.Pos;
        var tensorCount = c.I64();
        var kvCountAt = c.Pos;
        var kvCount = c.I64();
        // A tensor info takes at least 24 bytes and a key/value pair at least 13: refuse counts the file cannot hold.
        if (kvCount < 0 || kvCount > c.Remaining / 13)
            throw new GgufFormatException(path, $"metadata count {kvCount} is impossible for the file size", kvCountAt);
        if (tensorCount < 0 || tensorCount > c.Remaining / 24)
            throw new GgufFormatException(path, $"tensor count {tensorCount} is impossible for the file size", tensorCountAt);

        var pairs = new List<KeyValuePair<string, GgufValue>>((int)Math.Min(kvCount, 4096));
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < kvCount; i++)
        {
            var keyAt = c.Pos;
            var key = c.String("metadata key");
            if (key.Length == 0)
                throw new GgufFormatException(path, "empty metadata key", keyAt);
            if (!keys.Add(key))
                throw new GgufFormatException(path, "duplicate metadata key", keyAt, key);
            pairs.Add(new(key, ReadValue(ref c, key)));
        }
        var metadata = new GgufMetadata(path, pairs);

        var alignment = DefaultAlignment;
        if (metadata.TryGetValue("general.alignment", out var alignValue))
        {
            if (alignValue.Type != GgufValueType.UInt32)
                throw new GgufFormatException(path, $"general.alignment must be UINT32, found {alignValue.Type}", key: "general.alignment");
            alignment = (uint)alignValue.Value;
            if (alignment == 0 || (alignment & (alignment - 1)) != 0)
                throw new GgufFormatException(path, $"general.alignment must be a power of two, found {alignment}", key: "general.alignment");
        }

        var infos = new List<(string Name, GgmlType Type, long[] Dims, long Offset, long Size, long At)>((int)Math.Min(tensorCount, 4096));
        var names = new HashSet<string>(StringComparer.Ordinal);
        long expectedOffset = 0;
        for (long i = 0; i < tensorCount; i++)
        {
            var at = c.Pos;
            var name = c.String("tensor name", MaxNameLength);
            if (!names.Add(name))
                throw new GgufFormatException(path, "duplicate tensor name", at, name);
            var dimsAt = c.Pos;
            var nDims = c.U32();
            if (nDims > MaxDims)
                throw new GgufFormatException(path, $"tensor has {nDims} dimensions; at most {MaxDims} allowed", dimsAt, name);
            var dims = new long[nDims];
            long elements = 1;
            for (var d = 0; d < nDims; d++)
            {
                var dimAt = c.Pos;
                dims[d] = c.I64();
                if (dims[d] < 0)
                    throw new GgufFormatException(path, $"dimension {d} is negative ({dims[d]})", dimAt, name);
                if (dims[d] != 0 && elements > long.MaxValue / dims[d])
                    throw new GgufFormatException(path, "element count overflows 64 bits", dimAt, name);
                elements *= dims[d];
            }
            var typeAt = c.Pos;
            var typeId = c.I32();
            if (!GgmlTypes.TryGet(typeId, out var typeInfo))
                throw new GgufFormatException(path, $"unknown ggml type id {typeId}", typeAt, name);
            var rowLength = nDims > 0 ? dims[0] : 1;
            if (rowLength % typeInfo.BlockSize != 0)
                throw new GgufFormatException(path, $"row length {rowLength} is not a multiple of {typeInfo.Name}'s block size {typeInfo.BlockSize}", dimsAt, name);
            // bytes = (ne0 / block) · typeSize · ne1 · ne2 · ne3, each step checked.
            long size = rowLength / typeInfo.BlockSize;
            size = MulChecked(size, typeInfo.TypeSize, path, typeAt, name);
            for (var d = 1; d < nDims; d++)
                size = MulChecked(size, dims[d], path, dimsAt, name);
            var offsetAt = c.Pos;
            var offset = c.U64();
            if (offset != (ulong)expectedOffset)
                throw new GgufFormatException(path, $"tensor data offset is {offset}, expected {expectedOffset} (tensors must be stored in order, each padded to {alignment} bytes)", offsetAt, name);
            infos.Add((name, typeInfo.Type, dims, (long)offset, size, offsetAt));
            expectedOffset = Pad(expectedOffset + 0, alignment, size, path, offsetAt, name);
        }

        var dataOffset = c.Pos;
        if (dataOffset > long.MaxValue - alignment)
            throw new GgufFormatException(path, "data offset overflows", dataOffset);
        dataOffset = (dataOffset + alignment - 1) / alignment * alignment;
        var tensors = new GgufTensorInfo[infos.Count];
        for (var i = 0; i < infos.Count; i++)
        {
            var t = infos[i];
            // Absolute start and end must lie in the file; the offset was checked to be ≤ the running total.
            if (dataOffset > length || t.Offset > length - dataOffset || t.Size > length - dataOffset - t.Offset)
                throw new GgufFormatException(path, $"tensor data [{t.Offset}, +{t.Size}) after the data start {dataOffset} runs past the end of the file ({length} bytes)", t.At, t.Name);
            tensors[i] = new GgufTensorInfo(t.Name, t.Type, t.Dims, dataOffset + t.Offset, t.Size, part);
        }
        return new GgufHeader(version, metadata, tensors, dataOffset, alignment);
    }

    /// <summary>running + size rounded up to the alignment, overflow-checked.</summary>
    private static long Pad(long running, uint alignment, long size, string path, long at, string name)
    {
        if (size > long.MaxValue - running - alignment)
            throw new GgufFormatException(path, "total tensor data size overflows 64 bits", at, name);
        var end = running + size;
        return (end + alignment - 1) / alignment * alignment;
    }

    private static long MulChecked(long a, long b, string path, long at, string name)
    {
        if (b != 0 && a > long.MaxValue / b)
            throw new GgufFormatException(path, "tensor byte size overflows 64 bits", at, name);
        return a * b;
    }

    private static GgufValue ReadValue(ref Cursor c, string key)
    {
        var typeAt = c.Pos;
        var type = (GgufValueType)c.U32();
        if (type == GgufValueType.Array)
        {
            var elemAt = c.Pos;
            var elem = (GgufValueType)c.U32();
            if (elem == GgufValueType.Array)
                throw new GgufFormatException(c.Path, "nested arrays are not allowed", elemAt, key);
            if (elem > GgufValueType.Float64)
                throw new GgufFormatException(c.Path, $"unknown array element type {(uint)elem}", elemAt, key);
            var countAt = c.Pos;
            var count = c.U64();
            var start = c.Pos;
            var fixedSize = GgufValue.FixedSize(elem);
            if (fixedSize > 0)
            {
                if (count > (ulong)(c.Remaining / fixedSize) || count * (ulong)fixedSize > int.MaxValue)
                    throw new GgufFormatException(c.Path, $"array of {count} {elem} values does not fit in the file", countAt, key);
                c.Skip((long)count * fixedSize);
            }
            else
            {
                if (count > (ulong)(c.Remaining / 8))
                    throw new GgufFormatException(c.Path, $"array of {count} strings does not fit in the file", countAt, key);
                for (ulong i = 0; i < count; i++)
                {
                    var lenAt = c.Pos;
                    var len = c.U64();
                    if (len > (ulong)c.Remaining)
                        throw new GgufFormatException(c.Path, $"string {i} of length {len} runs past the end of the file", lenAt, key);
                    c.Skip((long)len);
                }
                if (c.Pos - start > int.MaxValue)
                    throw new GgufFormatException(c.Path, "string array is larger than 2 GiB", countAt, key);
            }
            return GgufValue.LazyArray(elem, (long)count, c.Copy(start, c.Pos - start));
        }
        return type switch
        {
            GgufValueType.UInt8 => GgufValue.From(c.U8()),
            GgufValueType.Int8 => GgufValue.From((sbyte)c.U8()),
            GgufValueType.UInt16 => GgufValue.From(c.U16()),
            GgufValueType.Int16 => GgufValue.From((short)c.U16()),
            GgufValueType.UInt32 => GgufValue.From(c.U32()),
            GgufValueType.Int32 => GgufValue.From(c.I32()),
            GgufValueType.Float32 => GgufValue.From(BitConverter.UInt32BitsToSingle(c.U32())),
            GgufValueType.Bool => GgufValue.From(c.U8() != 0),
            GgufValueType.String => GgufValue.From(c.String(key)),
            GgufValueType.UInt64 => GgufValue.From(c.U64()),
            GgufValueType.Int64 => GgufValue.From(c.I64()),
            GgufValueType.Float64 => GgufValue.From(BitConverter.UInt64BitsToDouble(c.U64())),
            _ => throw new GgufFormatException(c.Path, $"unknown metadata value type {(uint)type}", typeAt, key),
        };
    }

    /// <summary>A bounds-checked little-endian reader over the mapped bytes.</summary>
    private struct Cursor(byte* data, long length, string path)
    {
        public readonly string Path = path;
        public long Pos;
        public readonly long Remaining => length - Pos;

        private void Need(long n, string what)
        {
            if (n > length - Pos)
                throw new GgufFormatException(Path, $"unexpected end of file reading {what} ({n} bytes needed, {length - Pos} left)", Pos);
        }

        public byte U8() { Need(1, "a byte"); return data[Pos++]; }
        public ushort U16() { Need(2, "a 16-bit value"); var v = *(ushort*)(data + Pos); Pos += 2; return v; }
        public uint U32() { Need(4, "a 32-bit value"); var v = *(uint*)(data + Pos); Pos += 4; return v; }
        public int I32() => (int)U32();
        public ulong U64() { Need(8, "a 64-bit value"); var v = *(ulong*)(data + Pos); Pos += 8; return v; }
        public long I64() => (long)U64();
        public void Skip(long n) { Need(n, "array data"); Pos += n; }

        public string String(string what, int maxBytes = int.MaxValue)
        {
            var at = Pos;
            var len = U64();
            if (len > (ulong)maxBytes)
                throw new GgufFormatException(Path, $"{what} is {len} bytes long; at most {maxBytes} allowed", at);
            if (len > (ulong)(length - Pos))
                throw new GgufFormatException(Path, $"string of length {len} ({what}) runs past the end of the file", at);
            var s = Encoding.UTF8.GetString(data + Pos, (int)len);
            Pos += (long)len;
            return s;
        }

        public readonly byte[] Copy(long start, long n) => new ReadOnlySpan<byte>(data + start, checked((int)n)).ToArray();
    }
}
