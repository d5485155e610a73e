using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>Q4_1: d, m:fp16, qs[16]; value = d·q + m. Dot with Q8_1 (whose s = d_a·Σq_a carries the min term).</summary>
internal sealed unsafe class Q4_1Codec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q4_1;
    public override GgmlType VecDotType => GgmlType.Q8_1;
    public override int BlockSize => 32;
    public override int BlockBytes => 20;

    protected override void DequantizeBlock(byte* src, float* dst)
    {
        float d = Fp16.ToFloat(*(ushort*)src), m = Fp16.ToFloat(*(ushort*)(src + 2));
        byte* qs = src + 4;
        for (int j = 0; j < 16; j++)
        {
            dst[j] = (qs[j] & 15) * d + m;
            dst[j + 16] = (qs[j] >> 4) * d + m;
        }
    }

    /// <summary>quantize_row_q4_1_ref: d = (max−min)/15, m = min, q = min(15, trunc((x−min)/d + 0.5)).</summary>
    protected override void QuantizeBlock(float* x, byte* y)
    {
        float min = float.MaxValue, max = -float.MaxValue;
        for (int j = 0; j < 32; j++)
        {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        float d = (max - min) / 15;
        float id = d != 0 ? 1f / d : 0f;
        *(ushort*)y = Fp16.FromFloat(d);
        *(ushort*)(y + 2) = Fp16.FromFloat(min);
        for (int j = 0; j < 16; j++)
        {
            int q0 = Math.Min(15, (int)(sbyte)(int)((x[j] - min) * id + 0.5f));
            int q1 = Math.Min(15, (int)(sbyte)(int)((x[j + 16] - min) * id + 0.5f));
            y[4 + j] = (byte)(q0 | q1 << 4);
        }
    }

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx2 ? VecDotAvx2(w, a, n) : level >= SimdLevel.Vector128 ? LegacyVector128.Q4_1(w, a, n) : VecDotScalar(w, a, n);

    /// <summary>Four rows at a time on AVX2+ (same bits as <see cref="VecDot(SimdLevel, byte*, byte*, int)"/>, see <see cref="LegacyRows"/>).</summary>
    public override void VecDotRows(byte* w, long rowBytes, byte* a, int n, float* dst, int rows)
    {
        if (Simd.Best >= SimdLevel.Avx2)
            LegacyRows.Dot<Q4_1Block>(w, rowBytes, a, n, dst, rows, &VecDotAvx2);
        else
            base.VecDotRows(w, rowBytes, a, n, dst, rows);
    }

    internal static float VecDotScalar(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 32; b++, w += 20, a += 36)
        {
            sbyte* q8 = (sbyte*)(a + 4);
            int isum = 0;
            for (int j = 0; j < 16; j++)
                isum += (w[4 + j] & 15) * q8[j] + (w[4 + j] >> 4) * q8[j + 16];
            sum += Fp16.ToFloat(*(ushort*)w) * Fp16.ToFloat(*(ushort*)a) * isum + Fp16.ToFloat(*(ushort*)(w + 2)) * Fp16.ToFloat(*(ushort*)(a + 2));
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float VecDotAvx2(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc0 = Vector256<float>.Zero;
        float mins = 0;
        int nb = n / 32, b = 0;
        // one FMA chain over the blocks in order, as ggml-cpu sums them (bit-identical results; two blocks per iteration)
        for (; b + 1 < nb; b += 2)
        {
            {
                var p = SimdOps.DotU8S8(SimdOps.Nibbles16(w + 4), Avx.LoadVector256((sbyte*)(a + 4)));
                acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
                mins += f16[*(ushort*)(w + 2)] * f16[*(ushort*)(a + 2)];
            }
            w += 20;
            a += 36;
            {
                var p = SimdOps.DotU8S8(SimdOps.Nibbles16(w + 4), Avx.LoadVector256((sbyte*)(a + 4)));
                acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
                mins += f16[*(ushort*)(w + 2)] * f16[*(ushort*)(a + 2)];
            }
            w += 20;
            a += 36;
        }
        if (b < nb)
        {
            var p = SimdOps.DotU8S8(SimdOps.Nibbles16(w + 4), Avx.LoadVector256((sbyte*)(a + 4)));
            acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
            mins += f16[*(ushort*)(w + 2)] * f16[*(ushort*)(a + 2)];
        }
        return SimdOps.HorizontalSum(acc0) + mins;
    }
}
