using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>Q5_1: d, m:fp16, qh:u32, qs[16]; value = d·q + m (q 5-bit). Dot with Q8_1.</summary>
internal sealed unsafe class Q5_1Codec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q5_1;
    public override GgmlType VecDotType => GgmlType.Q8_1;
    public override int BlockSize => 32;
    public override int BlockBytes => 24;

    protected override void DequantizeBlock(byte* src, float* dst)
    {
        float d = Fp16.ToFloat(*(ushort*)src), m = Fp16.ToFloat(*(ushort*)(src + 2));
        uint qh = *(uint*)(src + 4);
        byte* qs = src + 8;
        for (int j = 0; j < 16; j++)
        {
            dst[j] = ((qs[j] & 15) | (int)((qh >> j) & 1) << 4) * d + m;
            dst[j + 16] = ((qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) * d + m;
        }
    }

    /// <summary>quantize_row_q5_1_ref: d = (max−min)/31, q = (uint8)trunc((x−min)/d + 0.5).</summary>
    protected override void QuantizeBlock(float* x, byte* y)
    {
        float min = float.MaxValue, max = -float.MaxValue;
        for (int j = 0; j < 32; j++)
        {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
        float d = (max - min) / 31;
        float id = d != 0 ? 1f / d : 0f;
        *(ushort*)y = Fp16.FromFloat(d);
        *(ushort*)(y + 2) = Fp16.FromFloat(min);
        uint qh = 0;
        for (int j = 0; j < 16; j++)
        {
            int q0 = (byte)(int)((x[j] - min) * id + 0.5f);
            int q1 = (byte)(int)((x[j + 16] - min) * id + 0.5f);
            y[8 + j] = (byte)((q0 & 15) | (q1 & 15) << 4);
            qh |= (uint)((q0 >> 4) & 1) << j;
            qh |= (uint)((q1 >> 4) & 1) << (j + 16);
        }
        *(uint*)(y + 4) = qh;
    }

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx2 ? VecDotAvx2(w, a, n) : level >= SimdLevel.Vector128 ? LegacyVector128.Q5_1(w, a, n) : VecDotScalar(w, a, n);

    /// <summary>Four rows at a time on AVX2+ (same bits as <see cref="VecDot(SimdLevel, byte*, byte*, int)"/>, see <see cref="LegacyRows"/>).</summary>
    public override void VecDotRows(byte* w, long rowBytes, byte* a, int n, float* dst, int rows)
    {
        if (Simd.Best >= SimdLevel.Avx2)
            LegacyRows.Dot<Q5_1Block>(w, rowBytes, a, n, dst, rows, &VecDotAvx2);
        else
            base.VecDotRows(w, rowBytes, a, n, dst, rows);
    }

    internal static float VecDotScalar(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 32; b++, w += 24, a += 36)
        {
            sbyte* q8 = (sbyte*)(a + 4);
            uint qh = *(uint*)(w + 4);
            int isum = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = (w[8 + j] & 15) | (int)((qh >> j) & 1) << 4;
                int q1 = (w[8 + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
                isum += q0 * q8[j] + q1 * q8[j + 16];
            }
            sum += Fp16.ToFloat(*(ushort*)w) * Fp16.ToFloat(*(ushort*)a) * isum + Fp16.ToFloat(*(ushort*)(w + 2)) * Fp16.ToFloat(*(ushort*)(a + 2));
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float VecDotAvx2(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc0 = Vector256<float>.Zero;
        var sixteen = Vector256.Create((byte)16);
        float mins = 0;
        int nb = n / 32, b = 0;
        // one FMA chain over the blocks in order, as ggml-cpu sums them (bit-identical results; two blocks per iteration)
        for (; b + 1 < nb; b += 2)
        {
            {
                var q = Avx2.Or(SimdOps.Nibbles16(w + 8), Avx2.And(SimdOps.BitsToBytes(*(uint*)(w + 4)), sixteen));
                var p = SimdOps.DotU8S8(q, Avx.LoadVector256((sbyte*)(a + 4)));
                acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
                mins += f16[*(ushort*)(w + 2)] * f16[*(ushort*)(a + 2)];
            }
            w += 24;
            a += 36;
            {
                var q = Avx2.Or(SimdOps.Nibbles16(w + 8), Avx2.And(SimdOps.BitsToBytes(*(uint*)(w + 4)), sixteen));
                var p = SimdOps.DotU8S8(q, Avx.LoadVector256((sbyte*)(a + 4)));
                acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
                mins += f16[*(ushort*)(w + 2)] * f16[*(ushort*)(a + 2)];
            }
            w += 24;
            a += 36;
        }
        if (b < nb)
        {
            var q = Avx2.Or(SimdOps.Nibbles16(w + 8), Avx2.And(SimdOps.BitsToBytes(*(uint*)(w + 4)), sixteen));
            var p = SimdOps.DotU8S8(q, Avx.LoadVector256((sbyte*)(a + 4)));
            acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
            mins += f16[*(ushort*)(w + 2)] * f16[*(ushort*)(a + 2)];
        }
        return SimdOps.HorizontalSum(acc0) + mins;
    }
}
