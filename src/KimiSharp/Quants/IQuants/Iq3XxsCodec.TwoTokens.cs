using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

internal sealed unsafe partial class Iq3XxsCodec : IQuantCodec // re-implemented so VecDotRowsTwoTokens below replaces the interface default
{
    /// <summary>Two tokens per pass on AVX-512 VBMI: a weight block's grid lookups, signs and scales are shared.</summary>
    public void VecDotRowsTwoTokens(byte* w, long rowBytes, byte* a0, byte* a1, int n, float* dst0, float* dst1, int rows) =>
        TwoTokenRows(HasAvx512Vbmi ? &Dot2Avx512 : null, w, rowBytes, a0, a1, n, dst0, dst1, rows);

    /// <summary><see cref="DotAvx512"/> of one weight row with two activation rows; each result has that kernel's bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot2Avx512(byte* x, byte* y0, byte* y1, int n, float* s0, float* s1)
    {
        uint* grid = IQuantGrids.Iq3Xxs;
        float* f16 = HalfTable;
        var signsLow = Vector512.Load(IQuantGrids.EvenSigns);
        var signsHigh = Vector512.Load(IQuantGrids.EvenSigns + 64);
        var codeOffsets = Vector512.Create(0x0000000015_0E_07_00UL).AsByte();          // bits 0, 7, 14, 21: the four codes
        var low7 = Vector512.Create((byte)127);
        var spread = Vector512.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
                                      8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11);
        var bits = Vector512.Create(0x8040201008040201UL).AsByte();
        var pick = Vector512.Create(0u, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        var laneOfStep = Vector512.Create(0UL, 1, 0, 1, 0, 1, 0, 1);
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 98, y0 += Q8KBytes, y1 += Q8KBytes)
        {
            byte* qs = x + 2;
            sbyte* p0 = (sbyte*)(y0 + Q8KQs), p1 = (sbyte*)(y1 + Q8KQs);
            var words = Vector256.Load((uint*)(x + 66));
            var scales = (((words >> 28) * 2 + Vector256<uint>.One) * 0x10001u).ToVector512();
            var codes = Avx512Vbmi.MultiShift(codeOffsets, Avx512F.ConvertToVector512UInt64(words)) & low7;
            var signBytes = Avx512Vbmi.PermuteVar64x8x2(signsLow, codes, signsHigh);
            var sum0 = Vector512<int>.Zero;
            var sum1 = Vector512<int>.Zero;
            var sel = pick;
            var lane = laneOfStep;
            for (int k = 0; k < 4; k++, qs += 16, p0 += 64, p1 += 64, sel += Vector512.Create(2u), lane += Vector512.Create(2UL))
            {
                var w = Vector512.Create(grid[qs[0]], grid[qs[1]], grid[qs[2]], grid[qs[3]], grid[qs[4]], grid[qs[5]], grid[qs[6]], grid[qs[7]],
                                         grid[qs[8]], grid[qs[9]], grid[qs[10]], grid[qs[11]], grid[qs[12]], grid[qs[13]], grid[qs[14]], grid[qs[15]]).AsByte();
                var stepSigns = Avx512F.PermuteVar8x64(signBytes.AsUInt64(), lane).AsByte();
                var m = Vector512.Equals(Avx512BW.Shuffle(stepSigns, spread) & bits, bits).AsSByte();
                var scale = Avx512F.PermuteVar16x32(scales, sel).AsInt16();
                sum0 += DotScaled(w, Negate(Vector512.Load(p0), m), scale);
                sum1 += DotScaled(w, Negate(Vector512.Load(p1), m), scale);
            }
            float dw = f16[*(ushort*)x];
            acc0 = AccumulateBlock(acc0, dw * *(float*)y0, sum0);
            acc1 = AccumulateBlock(acc1, dw * *(float*)y1, sum1);
        }
        *s0 = 0.25f * Sum(acc0);
        *s1 = 0.25f * Sum(acc1);
    }
}
