using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace KimiSharp.Gguf;

/// <summary>
/// Metadata key/value pairs in file order. Typed getters widen integer types when the value fits and throw
/// <see cref="GgufFormatException"/> naming the key when it is missing or of an unusable type.
/// </summary>
public sealed class GgufMetadata : IReadOnlyDictionary<string, GgufValue>
{
    private readonly Dictionary<string, GgufValue> _map;
    private readonly List<string> _order;

    public GgufMetadata(string filePath, IEnumerable<KeyValuePair<string, GgufValue>> pairs)
    {
        FilePath = filePath;
        _map = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
        _order = [];
        foreach (var (k, v) in pairs)
        {
            if (!_map.TryAdd(k, v))
                throw new GgufFormatException(filePath, "duplicate metadata key", key: k);
            _order.Add(k);
        }
    }

    /// <summary>The file the metadata came from (for error messages).</summary>
    public string FilePath { get; }

    public int Count => _order.Count;
    public IEnumerable<string> Keys => _order;
    public IEnumerable<GgufValue> Values => _order.Select(k => _map[k]);
    public GgufValue this[string key] => _map.TryGetValue(key, out var v) ? v : throw Missing(key);
    public bool ContainsKey(string key) => _map.ContainsKey(key);
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out GgufValue value) => _map.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, GgufValue>> GetEnumerator() =>
        _order.Select(k => new KeyValuePair<string, GgufValue>(k, _map[k])).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public string GetString(string key) => TryGetString(key, out var v) ? v : throw Wrong(key, "a string");
    public bool GetBool(string key) => TryGetBool(key, out var v) ? v : throw Wrong(key, "a bool");
    public uint GetUInt32(string key) => TryGetUInt32(key, out var v) ? v : throw Wrong(key, "an unsigned integer that fits in 32 bits");
    public int GetInt32(string key) => TryGetInt32(key, out var v) ? v : throw Wrong(key, "an integer that fits in 32 bits");
    public ulong GetUInt64(string key) => TryGetUInt64(key, out var v) ? v : throw Wrong(key, "a non-negative integer");
    public long GetInt64(string key) => TryGetInt64(key, out var v) ? v : throw Wrong(key, "an integer that fits in 64 bits");
    public float GetFloat32(string key) => TryGetFloat32(key, out var v) ? v : throw Wrong(key, "a number");
    public double GetFloat64(string key) => TryGetFloat64(key, out var v) ? v : throw Wrong(key, "a number");
    public string[] GetStringArray(string key) => GetArray<string>(key);
    public T[] GetArray<T>(string key) => TryGetArray<T>(key, out var v) ? v : throw Wrong(key, $"an array of {typeof(T).Name}");

    public string GetString(string key, string fallback) => _map.ContainsKey(key) ? GetString(key) : fallback;
    public bool GetBool(string key, bool fallback) => _map.ContainsKey(key) ? GetBool(key) : fallback;
    public uint GetUInt32(string key, uint fallback) => _map.ContainsKey(key) ? GetUInt32(key) : fallback;
    public int GetInt32(string key, int fallback) => _map.ContainsKey(key) ? GetInt32(key) : fallback;
    public float GetFloat32(string key, float fallback) => _map.ContainsKey(key) ? GetFloat32(key) : fallback;

    public bool TryGetString(string key, [MaybeNullWhen(false)] out string value)
    {
        value = _map.TryGetValue(key, out var v) && v.Type == GgufValueType.String ? (string)v.Value : null;
        return value is not null;
    }

    public bool TryGetBool(string key, out bool value)
    {
        value = false;
        if (!_map.TryGetValue(key, out var v) || v.Type != GgufValueType.Bool)
            return false;
        value = (bool)v.Value;
        return true;
    }

    public bool TryGetUInt32(string key, out uint value)
    {
        value = 0;
        if (!TryGetInteger(key, out var i) || i < 0 || i > uint.MaxValue)
            return false;
        value = (uint)i;
        return true;
    }

    public bool TryGetInt32(string key, out int value)
    {
        value = 0;
        if (!TryGetInteger(key, out var i) || i < int.MinValue || i > int.MaxValue)
            return false;
        value = (int)i;
        return true;
    }

    public bool TryGetInt64(string key, out long value)
    {
        value = 0;
        if (!TryGetInteger(key, out var i) || i < long.MinValue || i > long.MaxValue)
            return false;
        value = (long)i;
        return true;
    }

    public bool TryGetUInt64(string key, out ulong value)
    {
        value = 0;
        if (!TryGetInteger(key, out var i) || i < 0 || i > ulong.MaxValue)
            return false;
        value = (ulong)i;
        return true;
    }

    public bool TryGetFloat32(string key, out float value)
    {
        var ok = TryGetFloat64(key, out var d);
        value = (float)d;
        return ok;
    }

    public bool TryGetFloat64(string key, out double value)
    {
        value = 0;
        if (!_map.TryGetValue(key, out var v))
            return false;
        switch (v.Type)
        {
            case GgufValueType.Float32: value = (float)v.Value; return true;
            case GgufValueType.Float64: value = (double)v.Value; return true;
        }
        if (!TryGetInteger(key, out var i))
            return false;
        value = (double)i;
        return true;
    }

    /// <summary>An array whose elements are <typeparamref name="T"/>, or convertible to it without loss (integers widened).</summary>
    public bool TryGetArray<T>(string key, [MaybeNullWhen(false)] out T[] value)
    {
        value = null;
        if (!_map.TryGetValue(key, out var v) || !v.IsArray)
            return false;
        if (v.Value.GetType() == typeof(T[]))
        {
            value = (T[])v.Value;
            return true;
        }
        if (v.ElementType is GgufValueType.String or GgufValueType.Bool || typeof(T) == typeof(string) || typeof(T) == typeof(bool))
            return false;
        var source = (Array)v.Value;
        var result = new T[source.Length];
        for (var i = 0; i < source.Length; i++)
        {
            try
            {
                result[i] = (T)Convert.ChangeType(source.GetValue(i)!, typeof(T), CultureInfo.InvariantCulture);
            }
            catch (OverflowException)
            {
                return false;
            }
            catch (InvalidCastException)
            {
                return false;
            }
        }
        value = result;
        return true;
    }

    /// <summary>Any integer-typed value as a 128-bit integer (so u64 and i64 both fit).</summary>
    private bool TryGetInteger(string key, out Int128 value)
    {
        value = 0;
        if (!_map.TryGetValue(key, out var v))
            return false;
        switch (v.Value)
        {
            case byte b: value = b; return true;
            case sbyte sb: value = sb; return true;
            case ushort us: value = us; return true;
            case short s: value = s; return true;
            case uint ui: value = ui; return true;
            case int i: value = i; return true;
            case ulong ul: value = ul; return true;
            case long l: value = l; return true;
            default: return false;
        }
    }

    private GgufFormatException Missing(string key) => new(FilePath, "required metadata key is missing", key: key);

    private GgufFormatException Wrong(string key, string expected) =>
        _map.TryGetValue(key, out var v)
            ? new GgufFormatException(FilePath, $"expected {expected}, found {Describe(v)}", key: key)
            : Missing(key);

    private static string Describe(GgufValue v) => v.IsArray ? $"an array of {v.ElementType}" : $"{v.Type} {v}";
}
