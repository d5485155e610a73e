namespace KimiSharp.Compute;

/// <summary>
/// The flash kernels' building blocks over one strip of w = 2 vectors of query lanes (see <see cref="FlashLatentAttention"/>):
/// score panels, one online-softmax step, and the weighted value sum with its rescale.
/// </summary>
internal static unsafe class FlashKernels
{
    /// <summary>
    /// st[j·stStride + lane] = Σ_d keys[j][d] · qt[d][lane] (d &lt; row; key rows <paramref name="stride"/> floats apart,
    /// qt rows <paramref name="w"/> floats) for the n rows of the block and one strip of w = 2 vectors of lanes: four
    /// keys × two vectors per pass (eight accumulators), broadcasting key values. The same panel serves any
    /// C = A·B with A's rows strided and B in strips (the MHA path's latent decompression too).
    /// </summary>
    public static void Scores<TL, TV>(float* keys, int stride, int row, int n, float* qt, float* st, int w, int stStride) where TL : struct, IFloatLanes<TV> where TV : struct
    {
        int c = TL.Count;
        int j = 0;
        for (; j + 4 <= n; j += 4)
        {
            float* k0 = keys + (long)j * stride, k1 = k0 + stride, k2 = k1 + stride, k3 = k2 + stride;
            TV a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            float* q = qt;
            for (int d = 0; d < row; d++, q += w)
            {
                var lo = TL.Load(q);
                var hi = TL.Load(q + c);
                var x = TL.Splat(k0[d]);
                a0 = TL.MulAdd(x, lo, a0); a1 = TL.MulAdd(x, hi, a1);
                x = TL.Splat(k1[d]);
                a2 = TL.MulAdd(x, lo, a2); a3 = TL.MulAdd(x, hi, a3);
                x = TL.Splat(k2[d]);
                a4 = TL.MulAdd(x, lo, a4); a5 = TL.MulAdd(x, hi, a5);
                x = TL.Splat(k3[d]);
                a6 = TL.MulAdd(x, lo, a6); a7 = TL.MulAdd(x, hi, a7);
            }
            float* out0 = st + (long)j * stStride;
            TL.Store(out0, a0); TL.Store(out0 + c, a1);
            TL.Store(out0 + stStride, a2); TL.Store(out0 + stStride + c, a3);
            TL.Store(out0 + 2 * stStride, a4); TL.Store(out0 + 2 * stStride + c, a5);
            TL.Store(out0 + 3 * stStride, a6); TL.Store(out0 + 3 * stStride + c, a7);
        }
        for (; j < n; j++)
        {
            float* k0 = keys + (long)j * stride;
            TV a0 = default, a1 = default;
            float* q = qt;
            for (int d = 0; d < row; d++, q += w)
            {
                var x = TL.Splat(k0[d]);
                a0 = TL.MulAdd(x, TL.Load(q), a0);
                a1 = TL.MulAdd(x, TL.Load(q + c), a1);
            }
            TL.Store(st + (long)j * stStride, a0);
            TL.Store(st + (long)j * stStride + c, a1);
        }
    }

    /// <summary>
    /// Online softmax over one block for one strip: m' = max(m, block max), α = e^(m − m'), scores → P = e^(S − m')
    /// (exactly 0 where masked: key j past the lane's position), l = α·l + Σ_j P.
    /// </summary>
    public static void SoftmaxStep<TL, TV>(float* st, int n, int w, int j0, bool masked, float* rowMax, float* rowSum, float* alpha, float* pos)
        where TL : struct, IFloatLanes<TV> where TV : struct
    {
        int c = TL.Count;
        var negInf = TL.Splat(float.NegativeInfinity);
        var zero = TL.Splat(0f);
        for (int v = 0; v < w; v += c)
        {
            var position = TL.Load(pos + v);
            var max = TL.Load(rowMax + v);
            var blockMax = negInf;
            if (masked)
                for (int j = 0; j < n; j++)
                    blockMax = TL.Max(blockMax, TL.SelectWhereGreaterOrEqual(position, TL.Splat(j0 + j), TL.Load(st + (long)j * w + v), negInf));
            else
                for (int j = 0; j < n; j++)
                    blockMax = TL.Max(blockMax, TL.Load(st + (long)j * w + v));
            var newMax = TL.Max(max, blockMax);
            var a = FloatLanes.ExpNonPositive<TL, TV>(TL.Sub(max, newMax));
            var sum = zero;
            for (int j = 0; j < n; j++)
            {
                float* sj = st + (long)j * w + v;
                var e = FloatLanes.ExpNonPositive<TL, TV>(TL.Sub(TL.Load(sj), newMax));
                if (masked)
                    e = TL.SelectWhereGreaterOrEqual(position, TL.Splat(j0 + j), e, zero);
                TL.Store(sj, e);
                sum = TL.Add(sum, e);
            }
            TL.Store(rowMax + v, newMax);
            TL.Store(rowSum + v, TL.MulAdd(TL.Load(rowSum + v), a, sum));
            TL.Store(alpha + v, a);
        }
    }

    /// <summary>
    /// o[d][lane] = α[lane]·o[d][lane] + Σ_j keys[j][d]·P[j][lane] for d &lt; latent (V is the latent part of each row,
    /// rows <paramref name="stride"/> floats apart):
    /// four dimensions × two vectors of lanes per pass, broadcasting values.
    /// </summary>
    public static void AccumulateValues<TL, TV>(float* keys, int stride, int n, int latent, float* p, int w, float* alpha, float* o)
        where TL : struct, IFloatLanes<TV> where TV : struct
    {
        int c = TL.Count;
        var alo = TL.Load(alpha);
        var ahi = TL.Load(alpha + c);
        int d = 0;
        for (; d + 4 <= latent; d += 4)
        {
            float* o0 = o + (long)d * w;
            var a0 = TL.Mul(TL.Load(o0), alo); var a1 = TL.Mul(TL.Load(o0 + c), ahi);
            var a2 = TL.Mul(TL.Load(o0 + w), alo); var a3 = TL.Mul(TL.Load(o0 + w + c), ahi);
            var a4 = TL.Mul(TL.Load(o0 + 2 * w), alo); var a5 = TL.Mul(TL.Load(o0 + 2 * w + c), ahi);
            var a6 = TL.Mul(TL.Load(o0 + 3 * w), alo); var a7 = TL.Mul(TL.Load(o0 + 3 * w + c), ahi);
            float* v = keys + d;
            float* pj = p;
            for (int j = 0; j < n; j++, v += stride, pj += w)
            {
                var lo = TL.Load(pj);
                var hi = TL.Load(pj + c);
                var x = TL.Splat(v[0]);
                a0 = TL.MulAdd(x, lo, a0); a1 = TL.MulAdd(x, hi, a1);
                x = TL.Splat(v[1]);
                a2 = TL.MulAdd(x, lo, a2); a3 = TL.MulAdd(x, hi, a3);
                x = TL.Splat(v[2]);
                a4 = TL.MulAdd(x, lo, a4); a5 = TL.MulAdd(x, hi, a5);
                x = TL.Splat(v[3]);
                a6 = TL.MulAdd(x, lo, a6); a7 = TL.MulAdd(x, hi, a7);
            }
            TL.Store(o0, a0); TL.Store(o0 + c, a1);
            TL.Store(o0 + w, a2); TL.Store(o0 + w + c, a3);
            TL.Store(o0 + 2 * w, a4); TL.Store(o0 + 2 * w + c, a5);
            TL.Store(o0 + 3 * w, a6); TL.Store(o0 + 3 * w + c, a7);
        }
        for (; d < latent; d++)
        {
            float* o0 = o + (long)d * w;
            var a0 = TL.Mul(TL.Load(o0), alo);
            var a1 = TL.Mul(TL.Load(o0 + c), ahi);
            float* v = keys + d;
            float* pj = p;
            for (int j = 0; j < n; j++, v += stride, pj += w)
            {
                var x = TL.Splat(*v);
                a0 = TL.MulAdd(x, TL.Load(pj), a0);
                a1 = TL.MulAdd(x, TL.Load(pj + c), a1);
            }
            TL.Store(o0, a0);
            TL.Store(o0 + c, a1);
        }
    }

}
