using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// IQ3_XXS, 3.0625 bpw. Block of 256 (98 bytes): d:f16, qs[64] (8-bit grid indices, 4 lanes each), then per
/// group of 32 one u32: four 7-bit sign codes (8 lanes each) and a 4-bit scale s in bits 28..31.
/// Value = d·(0.5 + s)·0.5 · grid lane · sign.
/// </summary>
internal sealed unsafe partial class Iq3XxsCodec : IQuantCodecBase
{
    public override GgmlType Type => GgmlType.IQ3_XXS;

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(block);
        byte* qs = block + 2;
        uint* signsAndScales = (uint*)(block + 66);
        for (int ib = 0; ib < 8; ib++, qs += 8)
        {
            uint aux = signsAndScales[ib];
            float db = d * (0.5f + (aux >> 28)) * 0.5f;
            for (int l = 0; l < 4; l++, y += 8)
            {
                byte signs = IQuantGrids.EvenSigns[(aux >> (7 * l)) & 127];
                byte* grid1 = (byte*)(IQuantGrids.Iq3Xxs + qs[2 * l]);
                byte* grid2 = (byte*)(IQuantGrids.Iq3Xxs + qs[2 * l + 1]);
                for (int j = 0; j < 4; j++)
                {
                    y[j] = db * grid1[j] * ((signs & (1 << j)) != 0 ? -1f : 1f);
                    y[j + 4] = db * grid2[j] * ((signs & (1 << (j + 4))) != 0 ? -1f : 1f);
                }
            }
        }
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Vector128.IsHardwareAccelerated) list.Add(new("Vector128", &IQuantsVector128.Iq3XxsDot));
        if (HasAvx2) list.Add(new("Avx2", &DotAvx2));
        if (HasAvx512Vbmi) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotScalar(byte* x, byte* y, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, x += 98, y += Q8KBytes)
        {
            float d = Half(x) * *(float*)y;
            byte* qs = x + 2;
            uint* signsAndScales = (uint*)(x + 66);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            int blockSum = 0;
            for (int ib = 0; ib < 8; ib++, qs += 8)
            {
                uint aux = signsAndScales[ib];
                int groupSum = 0;
                for (int l = 0; l < 4; l++, q8 += 8)
                {
                    byte signs = IQuantGrids.EvenSigns[(aux >> (7 * l)) & 127];
                    byte* grid1 = (byte*)(IQuantGrids.Iq3Xxs + qs[2 * l]);
                    byte* grid2 = (byte*)(IQuantGrids.Iq3Xxs + qs[2 * l + 1]);
                    for (int j = 0; j < 4; j++)
                    {
                        groupSum += grid1[j] * q8[j] * ((signs & (1 << j)) != 0 ? -1 : 1);
                        groupSum += grid2[j] * q8[j + 4] * ((signs & (1 << (j + 4))) != 0 ? -1 : 1);
                    }
                }
                blockSum += groupSum * (int)(2 * (aux >> 28) + 1);
            }
            sum += d * blockSum;
        }
        return 0.25f * sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        uint* grid = IQuantGrids.Iq3Xxs;
        ulong* sign = IQuantGrids.EvenSignUnits;
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 98, y += Q8KBytes)
        {
            byte* qs = x + 2;
            uint* signsAndScales = (uint*)(x + 66);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var sum1 = Vector256<int>.Zero;
            var sum2 = Vector256<int>.Zero;
            for (int ib = 0; ib < 8; ib += 2, qs += 16, q8 += 64)
            {
                var w1 = Vector256.Create(grid[qs[0]], grid[qs[1]], grid[qs[2]], grid[qs[3]], grid[qs[4]], grid[qs[5]], grid[qs[6]], grid[qs[7]]).AsByte();
                var w2 = Vector256.Create(grid[qs[8]], grid[qs[9]], grid[qs[10]], grid[qs[11]], grid[qs[12]], grid[qs[13]], grid[qs[14]], grid[qs[15]]).AsByte();
                uint s1 = signsAndScales[ib], s2 = signsAndScales[ib + 1];
                var m1 = Vector256.Create(sign[s1 & 127], sign[(s1 >> 7) & 127], sign[(s1 >> 14) & 127], sign[(s1 >> 21) & 127]).AsSByte();
                var m2 = Vector256.Create(sign[s2 & 127], sign[(s2 >> 7) & 127], sign[(s2 >> 14) & 127], sign[(s2 >> 21) & 127]).AsSByte();
                var a1 = Avx2.Sign(Avx.LoadVector256(q8), m1);
                var a2 = Avx2.Sign(Avx.LoadVector256(q8 + 32), m2);
                sum1 += DotScaled(w1, a1, Vector256.Create((short)(2 * (s1 >> 28) + 1)));
                sum2 += DotScaled(w2, a2, Vector256.Create((short)(2 * (s2 >> 28) + 1)));
            }
            float d = Half(x) * *(float*)y;
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sum1 + sum2), acc);
        }
        return 0.25f * Sum(acc);
    }

    /// <summary>64 lanes per step; sign codes expanded in vector registers as in <see cref="Iq2XxsCodec.DotAvx512"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx512(byte* x, byte* y, int n)
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
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 98, y += Q8KBytes)
        {
            byte* qs = x + 2;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var words = Vector256.Load((uint*)(x + 66));
            var scales = (((words >> 28) * 2 + Vector256<uint>.One) * 0x10001u).ToVector512();
            var codes = Avx512Vbmi.MultiShift(codeOffsets, Avx512F.ConvertToVector512UInt64(words)) & low7;
            var signBytes = Avx512Vbmi.PermuteVar64x8x2(signsLow, codes, signsHigh);
            var sum = Vector512<int>.Zero;
            var sel = pick;
            var lane = laneOfStep;
            for (int k = 0; k < 4; k++, qs += 16, q8 += 64, sel += Vector512.Create(2u), lane += Vector512.Create(2UL))
            {
                var w = Vector512.Create(grid[qs[0]], grid[qs[1]], grid[qs[2]], grid[qs[3]], grid[qs[4]], grid[qs[5]], grid[qs[6]], grid[qs[7]],
                                         grid[qs[8]], grid[qs[9]], grid[qs[10]], grid[qs[11]], grid[qs[12]], grid[qs[13]], grid[qs[14]], grid[qs[15]]).AsByte();
                var stepSigns = Avx512F.PermuteVar8x64(signBytes.AsUInt64(), lane).AsByte();
                var m = Vector512.Equals(Avx512BW.Shuffle(stepSigns, spread) & bits, bits).AsSByte();
                var a = Negate(Vector512.Load(q8), m);
                sum += DotScaled(w, a, Avx512F.PermuteVar16x32(scales, sel).AsInt16());
            }
            acc = AccumulateBlock(acc, f16[*(ushort*)x] * *(float*)y, sum);
        }
        return 0.25f * Sum(acc);
    }
}
