namespace KimiSharp.Quants;

/// <summary>
/// Base for block formats: whole-row Dequantize/Quantize loop over blocks and call the per-block methods;
/// VecDot is per type. <see cref="QuantCodecs"/> has already checked lengths when these run.
/// </summary>
internal abstract unsafe class BlockCodec : IQuantCodec
{
    public abstract GgmlType Type { get; }
    public abstract GgmlType VecDotType { get; }
    public abstract int BlockSize { get; }
    public abstract int BlockBytes { get; }
    public virtual bool CanQuantize => true;

    protected abstract void DequantizeBlock(byte* src, float* dst);

    protected virtual void QuantizeBlock(float* src, byte* dst) =>
        throw new NotSupportedException($"quantizing into {Type} is not supported by this build");

    /// <summary>The dot product on the best path of this machine.</summary>
    public float VecDot(byte* weightRow, byte* activationRow, int n) => VecDot(Simd.Best, weightRow, activationRow, n);

    /// <summary>The dot product on a chosen path (a path a type has no kernel for falls back to the next lower one).</summary>
    public abstract float VecDot(SimdLevel level, byte* weightRow, byte* activationRow, int n);

    /// <summary>Mat-vec rows one at a time; the latency-bound types override it (see <see cref="IQuantCodec.VecDotRows"/>).</summary>
    public virtual void VecDotRows(byte* weights, long rowBytes, byte* activationRow, int n, float* dst, int rows)
    {
        for (int r = 0; r < rows; r++)
            dst[r] = VecDot(weights + r * rowBytes, activationRow, n);
    }

    public void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blocks = dst.Length / BlockSize;
        fixed (byte* s = src)
        fixed (float* d = dst)
            for (int b = 0; b < blocks; b++)
                DequantizeBlock(s + (long)b * BlockBytes, d + (long)b * BlockSize);
    }

    public virtual void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        int blocks = src.Length / BlockSize;
        fixed (float* s = src)
        fixed (byte* d = dst)
            for (int b = 0; b < blocks; b++)
                QuantizeBlock(s + (long)b * BlockSize, d + (long)b * BlockBytes);
    }
}
