using System.Runtime.CompilerServices;
using KimiSharp.Quants;

namespace KimiSharp.Compute;

/// <summary>
/// One sequence's cached rows of one layer, stored in pages (KV blocks) of <see cref="PageRows"/> rows: row j lives at
/// <c>Pages[j / PageRows] + PageOffset + (j % PageRows) · RowBytes</c>. Rows 0..<see cref="Count"/>−1 are valid.
/// Elements are <see cref="ElementType"/> (F32, F16, or Q8_0 padded to whole blocks), <see cref="RowLength"/> per row.
/// </summary>
public readonly unsafe struct PagedRows(nint* pages, int pageRows, long pageOffset, long rowBytes, GgmlType elementType, int rowLength, int count)
{
    public nint* Pages { get; } = pages;
    public int PageRows { get; } = pageRows;

    /// <summary>Where this layer's rows start inside a page.</summary>
    public long PageOffset { get; } = pageOffset;
    public long RowBytes { get; } = rowBytes;
    public GgmlType ElementType { get; } = elementType;
    public int RowLength { get; } = rowLength;
    public int Count { get; } = count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Row(int j) => (byte*)Pages[j / PageRows] + PageOffset + (long)(j % PageRows) * RowBytes;
}
