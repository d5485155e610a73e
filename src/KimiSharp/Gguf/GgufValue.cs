using System.Buffers.Binary;
using System.Text;

namespace KimiSharp.Gguf;

/// <summary>
/// One metadata value. Scalars are boxed CLR values (byte, sbyte, ushort, short, uint, int, float, bool,
/// string, ulong, long, double); arrays are typed CLR arrays (byte[], …, string[], bool[]).
/// Arrays read from a file keep their raw payload and are decoded on first access to <see cref="Value"/>,
/// so opening a file with a 160K-entry vocabulary costs one copy of its bytes, not 160K strings.
/// </summary>
public sealed class GgufValue
{
    private object? _value;
    private readonly byte[]? _rawArray; // little-endian payload of an array read from a file

    public GgufValue(GgufValueType type, object value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (type == GgufValueType.Array)
        {
            ElementType = ElementTypeOf(value.GetType())
                ?? throw new ArgumentException($"{value.GetType()} is not a GGUF array type", nameof(value));
            Length = ((Array)value).LongLength;
        }
        else if (ClrTypeOf(type) != value.GetType())
        {
            throw new ArgumentException($"a GGUF {type} value must be a {ClrTypeOf(type)}, got {value.GetType()}", nameof(value));
        }
        Type = type;
        _value = value;
    }

    private GgufValue(GgufValueType elementType, long length, byte[] raw)
    {
        Type = GgufValueType.Array;
        ElementType = elementType;
        Length = length;
        _rawArray = raw;
    }

    internal static GgufValue LazyArray(GgufValueType elementType, long length, byte[] raw) => new(elementType, length, raw);

    public GgufValueType Type { get; }

    /// <summary>The element type of an array (meaningless for scalars).</summary>
    public GgufValueType ElementType { get; }

    /// <summary>Number of elements of an array (0 for scalars).</summary>
    public long Length { get; }

    public bool IsArray => Type == GgufValueType.Array;

    public object Value => _value ??= DecodeArray();

    public static GgufValue From(byte v) => new(GgufValueType.UInt8, v);
    public static GgufValue From(sbyte v) => new(GgufValueType.Int8, v);
    public static GgufValue From(ushort v) => new(GgufValueType.UInt16, v);
    public static GgufValue From(short v) => new(GgufValueType.Int16, v);
    public static GgufValue From(uint v) => new(GgufValueType.UInt32, v);
    public static GgufValue From(int v) => new(GgufValueType.Int32, v);
    public static GgufValue From(float v) => new(GgufValueType.Float32, v);
    public static GgufValue From(bool v) => new(GgufValueType.Bool, v);
    public static GgufValue From(string v) => new(GgufValueType.String, v);
    public static GgufValue From(ulong v) => new(GgufValueType.UInt64, v);
    public static GgufValue From(long v) => new(GgufValueType.Int64, v);
    public static GgufValue From(double v) => new(GgufValueType.Float64, v);

    /// <summary>An array value; <typeparamref name="T"/> must be one of the 12 scalar CLR types.</summary>
    public static GgufValue FromArray<T>(T[] values) => new(GgufValueType.Array, values);

    /// <summary>Size in bytes of one element of a fixed-size type; 0 for String and Array.</summary>
    public static int FixedSize(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };

    public static Type? ClrTypeOf(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 => typeof(byte),
        GgufValueType.Int8 => typeof(sbyte),
        GgufValueType.UInt16 => typeof(ushort),
        GgufValueType.Int16 => typeof(short),
        GgufValueType.UInt32 => typeof(uint),
        GgufValueType.Int32 => typeof(int),
        GgufValueType.Float32 => typeof(float),
        GgufValueType.Bool => typeof(bool),
        GgufValueType.String => typeof(string),
        GgufValueType.UInt64 => typeof(ulong),
        GgufValueType.Int64 => typeof(long),
        GgufValueType.Float64 => typeof(double),
        _ => null,
    };

    private static GgufValueType? ElementTypeOf(Type arrayType)
    {
        if (!arrayType.IsArray || arrayType.GetArrayRank() != 1)
            return null;
        var e = arrayType.GetElementType();
        for (var t = GgufValueType.UInt8; t <= GgufValueType.Float64; t++)
            if (t != GgufValueType.Array && ClrTypeOf(t) == e)
                return t;
        return null;
    }

    /// <summary>The value as it would be written in text (arrays summarised).</summary>
    public override string ToString() => IsArray ? $"[{ElementType} × {Length}]" : Convert.ToString(Value, System.Globalization.CultureInfo.InvariantCulture) ?? "";

    // The payload was validated by the parser (lengths and bounds); decoding cannot fail.
    private object DecodeArray()
    {
        var raw = _rawArray!;
        var n = checked((int)Length);
        switch (ElementType)
        {
            case GgufValueType.UInt8: return raw.AsSpan(0, n).ToArray();
            case GgufValueType.Int8: return Copy<sbyte>(raw, n);
            case GgufValueType.UInt16: return Copy<ushort>(raw, n);
            case GgufValueType.Int16: return Copy<short>(raw, n);
            case GgufValueType.UInt32: return Copy<uint>(raw, n);
            case GgufValueType.Int32: return Copy<int>(raw, n);
            case GgufValueType.Float32: return Copy<float>(raw, n);
            case GgufValueType.UInt64: return Copy<ulong>(raw, n);
            case GgufValueType.Int64: return Copy<long>(raw, n);
            case GgufValueType.Float64: return Copy<double>(raw, n);
            case GgufValueType.Bool:
            {
                var b = new bool[n];
                for (var i = 0; i < n; i++)
                    b[i] = raw[i] != 0;
                return b;
            }
            case GgufValueType.String:
            {
                var s = new string[n];
                long pos = 0;
                for (var i = 0; i < n; i++)
                {
                    var len = (int)BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan((int)pos, 8));
                    pos += 8;
                    s[i] = Encoding.UTF8.GetString(raw, (int)pos, len);
                    pos += len;
                }
                return s;
            }
            default:
                throw new InvalidOperationException($"array of {ElementType}");
        }
    }

    // GGUF is little-endian, like every platform .NET runs on that we support.
    private static T[] Copy<T>(byte[] raw, int n) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(raw.AsSpan(0, n * System.Runtime.CompilerServices.Unsafe.SizeOf<T>())).ToArray();
}
