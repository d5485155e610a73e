using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

internal sealed unsafe partial class Iq1SCodec : IQuantCodec // re-implemented so VecDotRowsTwoTokens below replaces the interface default
{
    /// <summary>Two tokens per pass on AVX-512: a weight block's grid lookups and scales are shared.</summary>
    public void VecDotRowsTwoTokens(byte* w, long rowBytes, byte* a0, byte* a1, int n, float* dst0, float* dst1, int rows) =>
        TwoTokenRows(HasAvx512 ? &Dot2Avx512 : null, w, rowBytes, a0, a1, n, dst0, dst1, rows);

    /// <summary><see cref="DotAvx512"/> of one weight row with two activation rows; each result has that kernel's bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot2Avx512(byte* x, byte* y0, byte* y1, int n, float* s0, float* s1)
    {
        ulong* grid = IQuantGrids.Iq1SPlusOne;
        float* f16 = HalfTable;
        var pick = Vector512.Create((ushort)0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var two = Vector512.Create((ushort)2);
        var ones = Vector512.Create((byte)1);
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        float accDelta0 = 0, accDelta1 = 0;
        for (int b = 0; b < n / 256; b++, x += 50, y0 += Q8KBytes, y1 += Q8KBytes)
        {
            byte* qs = x + 2;
            ushort* qh = (ushort*)(x + 34);
            sbyte* p0 = (sbyte*)(y0 + Q8KQs), p1 = (sbyte*)(y1 + Q8KQs);
            var h = Vector128.Load(qh).AsInt16();
            var ls = ((h >>> 12) & Vector128.Create((short)7)) * 2 + Vector128<short>.One;
            var ls2 = Vector256.Create(ls, ls);
            var scales = SimdOps.Join(ls2, ls2).AsUInt16();
            var sum0 = Vector512<int>.Zero;
            var sum1 = Vector512<int>.Zero;
            var sel = pick;
            for (int k = 0; k < 4; k++, qs += 8, p0 += 64, p1 += 64, sel += two)
            {
                ulong i0 = Bmi2.X64.ParallelBitDeposit(*(uint*)qs, 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(qh[2 * k], 0x0700070007000700UL);
                ulong i1 = Bmi2.X64.ParallelBitDeposit(*(uint*)(qs + 4), 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(qh[2 * k + 1], 0x0700070007000700UL);
                var w = Vector512.Create(grid[(ushort)i0], grid[(ushort)(i0 >> 16)], grid[(ushort)(i0 >> 32)], grid[i0 >> 48],
                                         grid[(ushort)i1], grid[(ushort)(i1 >> 16)], grid[(ushort)(i1 >> 32)], grid[i1 >> 48]).AsByte();
                var scale = Avx512BW.PermuteVar32x16(scales, sel).AsInt16();
                var a0 = Vector512.Load(p0);
                var a1 = Vector512.Load(p1);
                sum0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a0) - Avx512BW.MultiplyAddAdjacent(ones, a0), scale);
                sum1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w, a1) - Avx512BW.MultiplyAddAdjacent(ones, a1), scale);
            }
            float dw = f16[*(ushort*)x];
            float d0 = dw * *(float*)y0, d1 = dw * *(float*)y1;
            acc0 = AccumulateBlock(acc0, d0, sum0);
            acc1 = AccumulateBlock(acc1, d1, sum1);
            accDelta0 = MathF.FusedMultiplyAdd(DeltaSum(x, y0), d0, accDelta0);
            accDelta1 = MathF.FusedMultiplyAdd(DeltaSum(x, y1), d1, accDelta1);
        }
        *s0 = Sum(acc0) + Delta * accDelta0;
        *s1 = Sum(acc1) + Delta * accDelta1;
    }
}
