using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>Q4_0: d:fp16, qs[16]; elem j = d·((qs[j]&amp;15)−8), elem j+16 = d·((qs[j]&gt;&gt;4)−8). Dot with Q8_0.</summary>
internal sealed unsafe class Q4_0Codec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q4_0;
    public override GgmlType VecDotType => GgmlType.Q8_0;
    public override int BlockSize => 32;
    public override int BlockBytes => 18;

    protected override void DequantizeBlock(byte* src, float* dst)
    {
        float d = Fp16.ToFloat(*(ushort*)src);
        byte* qs = src + 2;
        for (int j = 0; j < 16; j++)
        {
            dst[j] = ((qs[j] & 15) - 8) * d;
            dst[j + 16] = ((qs[j] >> 4) - 8) * d;
        }
    }

    /// <summary>quantize_row_q4_0_ref: d = max/−8 (max = signed value of largest |x|), q = min(15, trunc(x/d + 8.5)).</summary>
    protected override void QuantizeBlock(float* x, byte* y)
    {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
            if (amax < MathF.Abs(x[j])) { amax = MathF.Abs(x[j]); max = x[j]; }
        float d = max / -8;
        float id = d != 0 ? 1f / d : 0f;
        *(ushort*)y = Fp16.FromFloat(d);
        for (int j = 0; j < 16; j++)
        {
            int q0 = Math.Min(15, (int)(sbyte)(int)(x[j] * id + 8.5f));
            int q1 = Math.Min(15, (int)(sbyte)(int)(x[j + 16] * id + 8.5f));
            y[2 + j] = (byte)(q0 | q1 << 4);
        }
    }

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx2 ? VecDotAvx2(w, a, n) : level >= SimdLevel.Vector128 ? LegacyVector128.Q4_0(w, a, n) : VecDotScalar(w, a, n);

    /// <summary>Four rows at a time on AVX2+ (same bits as <see cref="VecDot(SimdLevel, byte*, byte*, int)"/>, see <see cref="LegacyRows"/>).</summary>
    public override void VecDotRows(byte* w, long rowBytes, byte* a, int n, float* dst, int rows)
    {
        if (Simd.Best >= SimdLevel.Avx2)
            LegacyRows.Dot<Q4_0Block>(w, rowBytes, a, n, dst, rows, &VecDotAvx2);
        else
            base.VecDotRows(w, rowBytes, a, n, dst, rows);
    }

    internal static float VecDotScalar(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 32; b++, w += 18, a += 34)
        {
            sbyte* q8 = (sbyte*)(a + 2);
            int isum = 0;
            for (int j = 0; j < 16; j++)
                isum += ((w[2 + j] & 15) - 8) * q8[j] + ((w[2 + j] >> 4) - 8) * q8[j + 16];
            sum += Fp16.ToFloat(*(ushort*)w) * Fp16.ToFloat(*(ushort*)a) * isum;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float VecDotAvx2(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc0 = Vector256<float>.Zero;
        var eight = Vector256.Create((byte)8);
        int nb = n / 32, b = 0;
        // one FMA chain over the blocks in order, as ggml-cpu sums them (bit-identical results; two blocks per iteration)
        for (; b + 1 < nb; b += 2)
        {
            {
                var q8 = Avx.LoadVector256((sbyte*)(a + 2));
                // Σ(q−8)·y = Σ q·y − Σ 8·y
                var p = Avx2.Subtract(SimdOps.DotU8S8(SimdOps.Nibbles16(w + 2), q8), SimdOps.DotU8S8(eight, q8));
                acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
            }
            w += 18;
            a += 34;
            {
                var q8 = Avx.LoadVector256((sbyte*)(a + 2));
                // Σ(q−8)·y = Σ q·y − Σ 8·y
                var p = Avx2.Subtract(SimdOps.DotU8S8(SimdOps.Nibbles16(w + 2), q8), SimdOps.DotU8S8(eight, q8));
                acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
            }
            w += 18;
            a += 34;
        }
        if (b < nb)
        {
            var q8 = Avx.LoadVector256((sbyte*)(a + 2));
            // Σ(q−8)·y = Σ q·y − Σ 8·y
            var p = Avx2.Subtract(SimdOps.DotU8S8(SimdOps.Nibbles16(w + 2), q8), SimdOps.DotU8S8(eight, q8));
            acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
        }
        return SimdOps.HorizontalSum(acc0);
    }
}
