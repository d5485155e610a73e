using KimiSharp.Compute;
using KimiSharp.Quants;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>
/// <see cref="Count"/> matrices of the same shape laid out one after another (a 3-D ggml tensor
/// <c>{Cols, Rows, Count}</c>: stacked experts, or per-head <c>attn_k_b</c>/<c>attn_v_b</c>).
/// </summary>
internal readonly unsafe struct MatrixStack(byte* data, GgmlType type, int rows, int cols, int count, long strideBytes)
{
    public GgmlType Type => type;
    public int Rows => rows;
    public int Cols => cols;
    public int Count => count;
    /// <summary>Bytes from one matrix to the next.</summary>
    public long StrideBytes => strideBytes;

    public QuantMatrix this[int index]
    {
        get
        {
            if ((uint)index >= (uint)count)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"matrix index out of 0..{count - 1}");
            return new QuantMatrix(data + index * strideBytes, type, rows, cols);
        }
    }
}
