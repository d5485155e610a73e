using KimiSharp.Quants;

namespace KimiSharp.Compute;

/// <summary>
/// A view of a row-major quantized matrix: <see cref="Rows"/> rows of <see cref="Cols"/> elements of <see cref="Type"/>,
/// each row <see cref="RowBytes"/> bytes, starting at <see cref="Data"/> (typically a pointer into the GGUF memory map).
/// In ggml terms: ne0 = Cols, ne1 = Rows. For a 3-D expert tensor (ne2 = experts) use <see cref="Expert"/>.
/// </summary>
public readonly unsafe struct QuantMatrix
{
    public QuantMatrix(byte* data, GgmlType type, int rows, int cols)
    {
        if (data == null) throw new ArgumentNullException(nameof(data));
        if (!QuantCodecs.IsSupported(type))
            throw new NotSupportedException($"ggml type {type} is not supported by this build (matrix {rows}×{cols})");
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        var info = GgmlTypes.Get(type);
        if (cols <= 0 || cols % info.BlockSize != 0)
            throw new ArgumentException($"{type}: row length {cols} is not a positive multiple of the block size {info.BlockSize}", nameof(cols));
        Data = data;
        Type = type;
        Rows = rows;
        Cols = cols;
        RowBytes = info.RowBytes(cols);
    }

    public byte* Data { get; }
    public GgmlType Type { get; }
    public int Rows { get; }
    public int Cols { get; }
    public long RowBytes { get; }
    public long TotalBytes => RowBytes * Rows;

    /// <summary>Pointer to row <paramref name="row"/>.</summary>
    public byte* Row(int row)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), row, $"matrix has {Rows} rows");
        return Data + row * RowBytes;
    }

    /// <summary>Rows [first, first + count) as a matrix of their own.</summary>
    public QuantMatrix Slice(int first, int count)
    {
        if (first < 0 || count < 0 || first + count > Rows)
            throw new ArgumentOutOfRangeException(nameof(first), $"rows [{first}, {first + count}) are outside a {Rows}-row matrix");
        return new QuantMatrix(Data + first * RowBytes, Type, count, Cols);
    }

    /// <summary>Expert <paramref name="expert"/> of a 3-D tensor [experts, rows, cols] stored expert after expert.</summary>
    public static QuantMatrix Expert(byte* tensorData, GgmlType type, int experts, int rows, int cols, int expert)
    {
        if ((uint)expert >= (uint)experts) throw new ArgumentOutOfRangeException(nameof(expert), expert, $"tensor has {experts} experts");
        long bytes = GgmlTypes.Get(type).RowBytes(cols) * rows;
        return new QuantMatrix(tensorData + expert * bytes, type, rows, cols);
    }
}
