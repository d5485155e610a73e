using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

internal sealed unsafe partial class Iq2XxsCodec : IQuantCodec // re-implemented so VecDotRowsTwoTokens below replaces the interface default
{
    /// <summary>Two tokens per pass on AVX-512 VBMI: the grid lookups, signs and scales of a weight block are shared.</summary>
    public void VecDotRowsTwoTokens(byte* w, long rowBytes, byte* a0, byte* a1, int n, float* dst0, float* dst1, int rows) =>
        TwoTokenRows(HasAvx512Vbmi ? &Dot2Avx512 : null, w, rowBytes, a0, a1, n, dst0, dst1, rows);

    /// <summary><see cref="DotAvx512"/> of one weight row with two activation rows; each result has that kernel's bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot2Avx512(byte* x, byte* y0, byte* y1, int n, float* s0, float* s1)
    {
        ulong* grid = IQuantGrids.Iq2Xxs;
        float* f16 = HalfTable;
        var signsLow = Vector512.Load(IQuantGrids.EvenSigns);
        var signsHigh = Vector512.Load(IQuantGrids.EvenSigns + 64);
        var codeOffsets = Vector512.Create(0x0000000035_2E_27_20UL).AsByte();          // bits 32, 39, 46, 53: the four codes
        var low7 = Vector512.Create((byte)127);
        var spread = Vector512.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
                                      8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9, 10, 10, 10, 10, 10, 10, 10, 10, 11, 11, 11, 11, 11, 11, 11, 11);
        var bits = Vector512.Create(0x8040201008040201UL).AsByte();
        var pick = Vector512.Create(1u, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3);
        var laneOfStep = Vector512.Create(0UL, 1, 0, 1, 0, 1, 0, 1);
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 66, y0 += Q8KBytes, y1 += Q8KBytes)
        {
            uint* q = (uint*)(x + 2);
            sbyte* p0 = (sbyte*)(y0 + Q8KQs), p1 = (sbyte*)(y1 + Q8KQs);
            var words = Vector512.Load(q);
            var scales = ((words >> 28) * 2 + Vector512<uint>.One) * 0x10001u;
            var codes = Avx512Vbmi.MultiShift(codeOffsets, words.AsUInt64()) & low7;
            var signBytes = Avx512Vbmi.PermuteVar64x8x2(signsLow, codes, signsHigh);
            var sum0 = Vector512<int>.Zero;
            var sum1 = Vector512<int>.Zero;
            var sel = pick;
            var lane = laneOfStep;
            for (int k = 0; k < 4; k++, q += 4, p0 += 64, p1 += 64, sel += Vector512.Create(4u), lane += Vector512.Create(2UL))
            {
                uint g1 = q[0], g2 = q[2];
                var w = Vector512.Create(
                    grid[g1 & 255], grid[(g1 >> 8) & 255], grid[(g1 >> 16) & 255], grid[g1 >> 24],
                    grid[g2 & 255], grid[(g2 >> 8) & 255], grid[(g2 >> 16) & 255], grid[g2 >> 24]).AsByte();
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
        *s0 = 0.125f * Sum(acc0);
        *s1 = 0.125f * Sum(acc1);
    }
}
