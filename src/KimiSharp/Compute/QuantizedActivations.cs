using KimiSharp.Quants;

namespace KimiSharp.Compute;

/// <summary>
/// Activation rows already quantized into a weight type's vec_dot format (Q8_K, Q8_0, Q8_1, F32, F16, BF16):
/// <see cref="Tokens"/> rows of <see cref="Cols"/> elements, <see cref="RowBytes"/> apart, at <see cref="Data"/>.
/// Made by <see cref="MatMul.QuantizeActivations"/>; lets one quantization serve several matrices (e.g. gate and up).
/// </summary>
public readonly unsafe struct QuantizedActivations
{
    internal QuantizedActivations(byte* data, GgmlType type, int tokens, int cols, long rowBytes)
    {
        Data = data;
        Type = type;
        Tokens = tokens;
        Cols = cols;
        RowBytes = rowBytes;
    }

    public byte* Data { get; }
    public GgmlType Type { get; }
    public int Tokens { get; }
    public int Cols { get; }
    public long RowBytes { get; }

    public byte* Row(int token)
    {
        if ((uint)token >= (uint)Tokens) throw new ArgumentOutOfRangeException(nameof(token), token, $"{Tokens} activation rows");
        return Data + token * RowBytes;
    }
}
