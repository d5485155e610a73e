using System.Runtime.InteropServices;
using KimiSharp.Compute;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Compute;

/// <summary>
/// A paged cache of <c>rows</c> random rows stored as <c>type</c> (pages of <c>pageRows</c> rows after a 64-byte
/// offset, Q8_0 rows padded to whole blocks), the queries, and the F32 values the cache holds.
/// </summary>
internal sealed unsafe class PagedLatentCache : IDisposable
{
    private const int PageOffset = 64;
    public readonly int Heads, Latent, Rope, Row, Rows, PageRows;
    public readonly GgmlType Type;
    public readonly nint[] Pages;
    private readonly GCHandle _pagesHandle;
    public readonly long RowBytes;
    /// <summary>What the cache holds, decoded by the scalar reference codecs.</summary>
    public readonly float[] Stored;

    public PagedLatentCache(int heads, int latent, int rope, int rows, GgmlType type, int seed, int pageRows = 32)
    {
        (Heads, Latent, Rope, Row, Rows, Type, PageRows) = (heads, latent, rope, latent + rope, rows, type, pageRows);
        var rng = new Random(seed);
        int stored = KvRowDecoder.StoredLength(type, Row);
        RowBytes = GgmlTypes.Get(type).RowBytes(stored);
        Pages = new nint[(rows + pageRows - 1) / pageRows];
        for (int i = 0; i < Pages.Length; i++)
            Pages[i] = (nint)NativeMemory.AllocZeroed((nuint)(PageOffset + RowBytes * pageRows));
        _pagesHandle = GCHandle.Alloc(Pages, GCHandleType.Pinned);
        Stored = new float[(long)rows * Row];
        var values = new float[stored];
        var decoded = new float[stored];
        for (int j = 0; j < rows; j++)
        {
            for (int d = 0; d < Row; d++)
                values[d] = (float)(rng.NextDouble() * 2 - 1);
            var dst = new Span<byte>(View.Row(j), (int)RowBytes);
            QuantCodecs.Quantize(type, values, dst);
            QuantCodecs.Dequantize(type, dst, decoded);
            decoded.AsSpan(0, Row).CopyTo(Stored.AsSpan(j * Row, Row));
        }
    }

    public PagedRows View => new((nint*)_pagesHandle.AddrOfPinnedObject(), PageRows, PageOffset, RowBytes, Type, Row, Rows);

    public float[] Queries(int tokens, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, tokens * Heads * Row).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
    }

    public void Dispose()
    {
        foreach (var page in Pages)
            NativeMemory.Free((void*)page);
        _pagesHandle.Free();
    }
}
