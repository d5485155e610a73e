namespace KimiSharp.Quants;

/// <summary>Checked entry points to every block codec; the per-type work is in the registered <see cref="IQuantCodec"/>s.</summary>
public static unsafe class QuantCodecs
{
    private static readonly IQuantCodec?[] Table = BuildTable();

    private static IQuantCodec?[] BuildTable()
    {
        var table = new IQuantCodec?[64];
        CodecRegistration.AddFloatLegacyAndKQuants(table);
        CodecRegistration.AddIQuantsAndTernary(table);
        return table;
    }

    public static bool IsSupported(GgmlType type) => TryGetCodec(type) is not null;

    public static bool CanQuantize(GgmlType type) => TryGetCodec(type)?.CanQuantize == true;

    public static IQuantCodec GetCodec(GgmlType type) =>
        TryGetCodec(type) ?? throw new NotSupportedException($"ggml type {type} is not supported by this build");

    public static GgmlType VecDotType(GgmlType weightType) => GetCodec(weightType).VecDotType;

    public static void Dequantize(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        var codec = GetCodec(type);
        CheckLengths(type, src.Length, dst.Length);
        codec.Dequantize(src, dst);
    }

    public static void Quantize(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        var codec = GetCodec(type);
        if (!codec.CanQuantize)
            throw new NotSupportedException($"quantizing into {type} is not supported by this build");
        CheckLengths(type, dst.Length, src.Length);
        codec.Quantize(src, dst);
    }

    /// <summary>Dot product of n elements; the caller guarantees both rows hold n elements of their types.</summary>
    public static float VecDot(GgmlType weightType, byte* weightRow, byte* activationRow, int n)
    {
        var codec = GetCodec(weightType);
        var info = GgmlTypes.Get(weightType);
        if (n <= 0 || n % info.BlockSize != 0 || n % GgmlTypes.Get(codec.VecDotType).BlockSize != 0)
            throw new ArgumentException($"{weightType}: row length {n} is not a multiple of the block size", nameof(n));
        return codec.VecDot(weightRow, activationRow, n);
    }

    /// <summary>
    /// Mat-vec: y[r] = Σ_k W[r, k]·a[k] for the y.Length rows of <paramref name="weights"/> (rows of n elements, packed
    /// back to back) and one activation row in the type's <see cref="VecDotType"/>; each y[r] has the bits of
    /// <see cref="VecDot"/> on that row. Lengths are checked against the type.
    /// </summary>
    public static void MatVec(GgmlType weightType, ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activationRow, int n, Span<float> y)
    {
        var codec = GetCodec(weightType);
        var info = GgmlTypes.Get(weightType);
        var actType = codec.VecDotType;
        if (n <= 0 || n % info.BlockSize != 0 || n % GgmlTypes.Get(actType).BlockSize != 0)
            throw new ArgumentException($"{weightType}: row length {n} is not a multiple of the block size", nameof(n));
        long rowBytes = info.RowBytes(n);
        if (weights.Length != rowBytes * y.Length)
            throw new ArgumentException($"{weightType}: {y.Length} rows of {n} need {rowBytes * y.Length} bytes, got {weights.Length}", nameof(weights));
        CheckLengths(actType, activationRow.Length, n);
        if (y.Length == 0) return;
        fixed (byte* w = weights)
        fixed (byte* a = activationRow)
        fixed (float* py = y)
            codec.VecDotRows(w, rowBytes, a, n, py, y.Length);
    }

    /// <summary>Throws unless <paramref name="bytes"/> holds exactly <paramref name="elements"/> elements of <paramref name="type"/>.</summary>
    public static void CheckLengths(GgmlType type, long bytes, long elements)
    {
        long needed = GgmlTypes.Get(type).RowBytes(elements);
        if (bytes != needed)
            throw new ArgumentException($"{type}: {elements} elements need {needed} bytes, got {bytes}");
    }

    private static IQuantCodec? TryGetCodec(GgmlType type) =>
        (uint)type < (uint)Table.Length ? Table[(int)type] : null;
}
