using KimiSharp.Quants;

namespace KimiSharp.Gguf;

/// <summary>
/// One tensor of a GGUF file or split set. <see cref="Dims"/> are in ggml order (Dims[0] is the innermost,
/// contiguous dimension: the row length). <see cref="Offset"/> is the absolute byte offset of the data in
/// part <see cref="Part"/> (0-based index into <see cref="GgufFile.PartPaths"/>).
/// </summary>
public sealed record GgufTensorInfo(string Name, GgmlType Type, long[] Dims, long Offset, long ByteSize, int Part)
{
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Dims)
                n *= d;
            return n;
        }
    }

    /// <summary>Row length (Dims[0]).</summary>
    public long RowLength => Dims.Length > 0 ? Dims[0] : 1;

    /// <summary>Number of rows (product of all dims but the first).</summary>
    public long RowCount => Dims.Length > 0 ? ElementCount / Math.Max(1, Dims[0]) : 1;

    public string ShapeText => "{" + string.Join(", ", Dims) + "}";
}
