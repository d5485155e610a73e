namespace KimiSharp.Quants.IQuants;

/// <summary>A dot-product kernel: Σ w·a over n elements of a weight row and an activation row.</summary>
internal readonly unsafe struct DotKernel(string name, delegate*<byte*, byte*, int, float> function)
{
    public string Name { get; } = name;
    public delegate*<byte*, byte*, int, float> Function { get; } = function;
    public float Invoke(byte* weights, byte* activations, int n) => Function(weights, activations, n);
    public override string ToString() => Name;
}

/// <summary>
/// Shared shape of the i-quant and ternary codecs: whole-block dequantization, a dot product dispatched to
/// the best instruction set found at start-up, and (by default) no quantizer.
/// </summary>
internal abstract unsafe class IQuantCodecBase : IQuantCodec
{
    public abstract GgmlType Type { get; }

    public virtual GgmlType VecDotType => GgmlType.Q8_K;

    protected int BlockSize => GgmlTypes.Get(Type).BlockSize;

    protected int BlockBytes => GgmlTypes.Get(Type).TypeSize;

    public void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        int blockSize = BlockSize, blockBytes = BlockBytes;
        int blocks = dst.Length / blockSize;
        if (dst.Length % blockSize != 0 || src.Length < blocks * blockBytes)
            throw new ArgumentException($"{Type}: {src.Length} bytes cannot be dequantized into {dst.Length} elements");
        fixed (byte* s = src)
        fixed (float* d = dst)
        {
            for (int b = 0; b < blocks; b++)
                DequantizeBlock(s + b * blockBytes, d + b * blockSize);
        }
    }

    /// <summary>Decodes one block at <paramref name="block"/> into <see cref="BlockSize"/> floats.</summary>
    protected abstract void DequantizeBlock(byte* block, float* y);

    public virtual bool CanQuantize => false;

    public virtual void Quantize(ReadOnlySpan<float> src, Span<byte> dst) =>
        throw new NotSupportedException($"quantizing into {Type} is not supported by this build");

    public float VecDot(byte* weightRow, byte* activationRow, int n)
    {
        var kernel = best;
        if (kernel == null)
            best = kernel = Kernels[^1].Function;
        return kernel(weightRow, activationRow, n);
    }

    /// <summary>
    /// <see cref="IQuantCodec.VecDotRowsTwoTokens"/> through a kernel that decodes each weight block once for both
    /// tokens (null where this CPU lacks its instructions: then one <see cref="VecDot"/> per token and row). A codec
    /// using it re-implements <see cref="IQuantCodec"/>, or the interface default would run instead.
    /// </summary>
    protected void TwoTokenRows(delegate*<byte*, byte*, byte*, int, float*, float*, void> kernel, byte* w, long rowBytes,
        byte* a0, byte* a1, int n, float* dst0, float* dst1, int rows)
    {
        for (int r = 0; r < rows; r++)
        {
            if (kernel != null)
                kernel(w + r * rowBytes, a0, a1, n, dst0 + r, dst1 + r);
            else
            {
                dst0[r] = VecDot(w + r * rowBytes, a0, n);
                dst1[r] = VecDot(w + r * rowBytes, a1, n);
            }
        }
    }

    /// <summary>Every dot kernel this CPU can run, the portable scalar one first; the last is the fastest.</summary>
    public abstract IReadOnlyList<DotKernel> Kernels { get; }

    /// <summary>The fastest kernel (the last of <see cref="Kernels"/>), looked up on first use.</summary>
    private delegate*<byte*, byte*, int, float> best;
}
