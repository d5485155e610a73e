namespace KimiSharp.Compute;

/// <summary>
/// RoPE with YaRN scaling in ggml's NORM mode (adjacent pairs (x[2i], x[2i+1]) rotate together), computed
/// exactly as ggml-cpu's rope cache: θ_i = p·base^(−2i/n) built by repeated float multiplication, blended
/// between interpolated (θ·freq_scale) and extrapolated θ by the YaRN ramp over the correction dims, with
/// the magnitude factor mscale = attn_factor·(1 + 0.1·ln(1/freq_scale)) folded into cos/sin.
/// </summary>
public sealed class YarnRope
{
    private readonly int _dims;
    private readonly float _freqScale;
    private readonly float _extFactor;
    private readonly float _mscale;
    private readonly float _thetaScale;
    private readonly float _corrLow;
    private readonly float _corrHigh;

    public YarnRope(int dims, float freqBase, float freqScale, int originalContext, float extFactor, float attnFactor,
        float betaFast, float betaSlow)
    {
        if (dims <= 0 || dims % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(dims), dims, "rope dimension count must be positive and even");
        _dims = dims;
        _freqScale = freqScale;
        _extFactor = extFactor;
        _thetaScale = MathF.Pow(freqBase, -2.0f / dims);
        (_corrLow, _corrHigh) = CorrectionDims(dims, originalContext, freqBase, betaFast, betaSlow);
        // ggml-cpu is compiled with FMA contraction: 1 + 0.1·ln(1/s) is one fused multiply-add.
        _mscale = extFactor != 0.0f ? attnFactor * MathF.FusedMultiplyAdd(MathF.Log(1.0f / freqScale), 0.1f, 1.0f) : attnFactor;
    }

    public int Dims => _dims;

    /// <summary>ggml_rope_yarn_corr_dims: the first/last pair index of the blend between extrapolation and interpolation.</summary>
    public static (float Low, float High) CorrectionDims(int dims, int originalContext, float freqBase, float betaFast, float betaSlow)
    {
        static float CorrDim(int nDims, int nCtxOrig, float nRot, float b) =>
            nDims * MathF.Log(nCtxOrig / (nRot * 2 * MathF.PI)) / (2 * MathF.Log(b));
        float start = MathF.Floor(CorrDim(dims, originalContext, betaFast, freqBase));
        float end = MathF.Ceiling(CorrDim(dims, originalContext, betaSlow, freqBase));
        return (MathF.Max(0, start), MathF.Min(dims - 1, end));
    }

    /// <summary>Fills cos/sin (dims/2 each) for one position.</summary>
    public void Table(int position, Span<float> cos, Span<float> sin)
    {
        float theta = position;
        for (int i0 = 0; i0 < _dims; i0 += 2)
        {
            float thetaExtrap = theta;
            float thetaInterp = _freqScale * thetaExtrap;
            float t = thetaInterp;
            if (_extFactor != 0.0f)
            {
                float y = (i0 / 2 - _corrLow) / MathF.Max(0.001f, _corrHigh - _corrLow);
                float rampMix = (1 - MathF.Min(1, MathF.Max(0, y))) * _extFactor;
                t = MathF.FusedMultiplyAdd(thetaInterp, 1 - rampMix, thetaExtrap * rampMix); // contracted as in ggml-cpu
            }
            cos[i0 / 2] = MathF.Cos(t) * _mscale;
            sin[i0 / 2] = MathF.Sin(t) * _mscale;
            theta *= _thetaScale;
        }
    }

    /// <summary>
    /// Rotates the first <see cref="Dims"/> values of <paramref name="x"/> in place with a table from <see cref="Table"/>:
    /// (x0, x1) ← (x0·cos − x1·sin, x1·cos + x0·sin), each with the cos product fused into the add as ggml-cpu's
    /// compiled code does it (the sin product is rounded first).
    /// </summary>
    public void Rotate(Span<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        for (int i = 0; i < _dims / 2; i++)
        {
            float x0 = x[2 * i], x1 = x[2 * i + 1];
            x[2 * i] = MathF.FusedMultiplyAdd(x0, cos[i], -(x1 * sin[i]));
            x[2 * i + 1] = MathF.FusedMultiplyAdd(x0, sin[i], x1 * cos[i]);
        }
    }
}
