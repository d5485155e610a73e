using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>Q5_0: d:fp16, qh:u32, qs[16]; q = nibble | (bit j of qh)&lt;&lt;4, value = d·(q−16). Dot with Q8_0.</summary>
internal sealed unsafe class Q5_0Codec : BlockCodec
{
    public override GgmlType Type => GgmlType.Q5_0;
    public override GgmlType VecDotType => GgmlType.Q8_0;
    public override int BlockSize => 32;
    public override int BlockBytes => 22;

    protected override void DequantizeBlock(byte* src, float* dst)
    {
        float d = Fp16.ToFloat(*(ushort*)src);
        uint qh = *(uint*)(src + 2);
        byte* qs = src + 6;
        for (int j = 0; j < 16; j++)
        {
            dst[j] = (((qs[j] & 15) | (int)((qh >> j) & 1) << 4) - 16) * d;
            dst[j + 16] = (((qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16) * d;
        }
    }

    /// <summary>quantize_row_q5_0_ref: d = max/−16, q = min(31, trunc(x/d + 16.5)).</summary>
    protected override void QuantizeBlock(float* x, byte* y)
    {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
            if (amax < MathF.Abs(x[j])) { amax = MathF.Abs(x[j]); max = x[j]; }
        float d = max / -16;
        float id = d != 0 ? 1f / d : 0f;
        *(ushort*)y = Fp16.FromFloat(d);
        uint qh = 0;
        for (int j = 0; j < 16; j++)
        {
            int q0 = Math.Min(31, (int)(sbyte)(int)(x[j] * id + 16.5f));
            int q1 = Math.Min(31, (int)(sbyte)(int)(x[j + 16] * id + 16.5f));
            y[6 + j] = (byte)((q0 & 15) | (q1 & 15) << 4);
            qh |= (uint)((q0 >> 4) & 1) << j;
            qh |= (uint)((q1 >> 4) & 1) << (j + 16);
        }
        *(uint*)(y + 2) = qh;
    }

    public override float VecDot(SimdLevel level, byte* w, byte* a, int n) =>
        level >= SimdLevel.Avx2 ? VecDotAvx2(w, a, n) : level >= SimdLevel.Vector128 ? LegacyVector128.Q5_0(w, a, n) : VecDotScalar(w, a, n);

    /// <summary>Four rows at a time on AVX2+ (same bits as <see cref="VecDot(SimdLevel, byte*, byte*, int)"/>, see <see cref="LegacyRows"/>).</summary>
    public override void VecDotRows(byte* w, long rowBytes, byte* a, int n, float* dst, int rows)
    {
        if (Simd.Best >= SimdLevel.Avx2)
            LegacyRows.Dot<Q5_0Block>(w, rowBytes, a, n, dst, rows, &VecDotAvx2);
        else
            base.VecDotRows(w, rowBytes, a, n, dst, rows);
    }

    internal static float VecDotScalar(byte* w, byte* a, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 32; b++, w += 22, a += 34)
        {
            sbyte* q8 = (sbyte*)(a + 2);
            uint qh = *(uint*)(w + 2);
            int isum = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = ((w[6 + j] & 15) | (int)((qh >> j) & 1) << 4) - 16;
                int q1 = ((w[6 + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16;
                isum += q0 * q8[j] + q1 * q8[j + 16];
            }
            sum += Fp16.ToFloat(*(ushort*)w) * Fp16.ToFloat(*(ushort*)a) * isum;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float VecDotAvx2(byte* w, byte* a, int n)
    {
        float* f16 = Fp16.TablePointer;
        var acc0 = Vector256<float>.Zero;
        var sixteen = Vector256.Create((byte)16);
        int nb = n / 32, b = 0;
        // one FMA chain over the blocks in order, as ggml-cpu sums them (bit-identical results; two blocks per iteration)
        for (; b + 1 < nb; b += 2)
        {
            {
                var q8 = Avx.LoadVector256((sbyte*)(a + 2));
                var q = Avx2.Or(SimdOps.Nibbles16(w + 6), Avx2.And(SimdOps.BitsToBytes(*(uint*)(w + 2)), sixteen));
                var p = Avx2.Subtract(SimdOps.DotU8S8(q, q8), SimdOps.DotU8S8(sixteen, q8));
                acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
            }
            w += 22;
            a += 34;
            {
                var q8 = Avx.LoadVector256((sbyte*)(a + 2));
                var q = Avx2.Or(SimdOps.Nibbles16(w + 6), Avx2.And(SimdOps.BitsToBytes(*(uint*)(w + 2)), sixteen));
                var p = Avx2.Subtract(SimdOps.DotU8S8(q, q8), SimdOps.DotU8S8(sixteen, q8));
                acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
            }
            w += 22;
            a += 34;
        }
        if (b < nb)
        {
            var q8 = Avx.LoadVector256((sbyte*)(a + 2));
            var q = Avx2.Or(SimdOps.Nibbles16(w + 6), Avx2.And(SimdOps.BitsToBytes(*(uint*)(w + 2)), sixteen));
            var p = Avx2.Subtract(SimdOps.DotU8S8(q, q8), SimdOps.DotU8S8(sixteen, q8));
            acc0 = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)w] * f16[*(ushort*)a]), Avx.ConvertToVector256Single(p), acc0);
        }
        return SimdOps.HorizontalSum(acc0);
    }
}
