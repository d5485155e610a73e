using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// IQ2_XS, 2.3125 bpw. Block of 256 (74 bytes): d:f16, qs[32]:u16 (9-bit grid index | 7-bit sign code &lt;&lt; 9,
/// 8 lanes each), scales[8] (per group of 32: low nibble for the first 16 lanes, high nibble for the next 16).
/// Value = d·(0.5 + s)·0.25 · grid lane · sign.
/// </summary>
internal sealed unsafe class Iq2XsCodec : IQuantCodecBase
{
    public override GgmlType Type => GgmlType.IQ2_XS;

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(block);
        ushort* q = (ushort*)(block + 2);
        byte* scales = block + 66;
        for (int ib = 0; ib < 8; ib++)
        {
            float db0 = d * (0.5f + (scales[ib] & 15)) * 0.25f;
            float db1 = d * (0.5f + (scales[ib] >> 4)) * 0.25f;
            for (int l = 0; l < 4; l++, y += 8)
            {
                ushort code = q[4 * ib + l];
                byte* grid = (byte*)(IQuantGrids.Iq2Xs + (code & 511));
                byte signs = IQuantGrids.EvenSigns[code >> 9];
                float db = l < 2 ? db0 : db1;
                for (int j = 0; j < 8; j++)
                    y[j] = db * grid[j] * ((signs & (1 << j)) != 0 ? -1f : 1f);
            }
        }
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Vector128.IsHardwareAccelerated) list.Add(new("Vector128", &IQuantsVector128.Iq2XsDot));
        if (HasAvx2) list.Add(new("Avx2", &DotAvx2));
        if (HasAvx512Vbmi) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotScalar(byte* x, byte* y, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, x += 74, y += Q8KBytes)
        {
            float d = Half(x) * *(float*)y;
            ushort* q = (ushort*)(x + 2);
            byte* scales = x + 66;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            int blockSum = 0;
            for (int half = 0; half < 16; half++)
            {
                int s = 2 * ((scales[half / 2] >> (4 * (half & 1))) & 15) + 1;
                int halfSum = 0;
                for (int l = 0; l < 2; l++, q8 += 8)
                {
                    ushort code = q[2 * half + l];
                    byte* grid = (byte*)(IQuantGrids.Iq2Xs + (code & 511));
                    byte signs = IQuantGrids.EvenSigns[code >> 9];
                    for (int j = 0; j < 8; j++)
                        halfSum += grid[j] * q8[j] * ((signs & (1 << j)) != 0 ? -1 : 1);
                }
                blockSum += halfSum * s;
            }
            sum += d * blockSum;
        }
        return 0.125f * sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq2Xs;
        ulong* sign = IQuantGrids.EvenSignUnits;
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 74, y += Q8KBytes)
        {
            ushort* q = (ushort*)(x + 2);
            byte* scales = x + 66;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var sum = Vector256<int>.Zero;
            for (int ib = 0; ib < 8; ib++, q += 4, q8 += 32)
            {
                uint c0 = q[0], c1 = q[1], c2 = q[2], c3 = q[3];
                var w = Vector256.Create(grid[c0 & 511], grid[c1 & 511], grid[c2 & 511], grid[c3 & 511]).AsByte();
                var m = Vector256.Create(sign[c0 >> 9], sign[c1 >> 9], sign[c2 >> 9], sign[c3 >> 9]).AsSByte();
                var a = Avx2.Sign(Avx.LoadVector256(q8), m);
                int sc = scales[ib];
                var s = Vector256.Create(Vector128.Create((short)(2 * (sc & 15) + 1)), Vector128.Create((short)(2 * (sc >> 4) + 1)));
                sum += DotScaled(w, a, s);
            }
            float d = Half(x) * *(float*)y;
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sum), acc);
        }
        return 0.125f * Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq2Xs;
        float* f16 = HalfTable;
        var signsLow = Vector512.Load(IQuantGrids.EvenSigns);
        var signsHigh = Vector512.Load(IQuantGrids.EvenSigns + 64);
        var spread = Vector512.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6,
                                      8, 8, 8, 8, 8, 8, 8, 8, 10, 10, 10, 10, 10, 10, 10, 10, 12, 12, 12, 12, 12, 12, 12, 12, 14, 14, 14, 14, 14, 14, 14, 14);
        var bits = Vector512.Create(0x8040201008040201UL).AsByte();
        var laneOfStep = Vector512.Create(0UL, 1, 0, 1, 0, 1, 0, 1);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 74, y += Q8KBytes)
        {
            ushort* q = (ushort*)(x + 2);
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            // 16 half-group scales 2s+1 in element order, each duplicated into both i16 halves of a word.
            var packed = Vector128.CreateScalar(*(ulong*)(x + 66)).AsByte();
            var nibbles = Sse2.UnpackLow(packed & Vector128.Create((byte)15), Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & Vector128.Create((byte)15));
            var scales = (Avx512F.ConvertToVector512UInt32(nibbles) * 2 + Vector512<uint>.One) * 0x10001u;
            // Sign code (bits 9..15 of each u16) → sign byte with parity, in the even byte of each u16.
            var signBytes = Avx512Vbmi.PermuteVar64x8x2(signsLow, (Vector512.Load(q) >> 9).AsByte(), signsHigh);
            var sum = Vector512<int>.Zero;
            var lane = laneOfStep;
            for (int k = 0; k < 4; k++, q += 8, q8 += 64, lane += Vector512.Create(2UL))
            {
                ulong codes = *(ulong*)q, codes2 = *(ulong*)(q + 4);
                uint c0 = (ushort)codes, c1 = (ushort)(codes >> 16), c2 = (ushort)(codes >> 32), c3 = (ushort)(codes >> 48);
                uint c4 = (ushort)codes2, c5 = (ushort)(codes2 >> 16), c6 = (ushort)(codes2 >> 32), c7 = (ushort)(codes2 >> 48);
                var w = Vector512.Create(grid[c0 & 511], grid[c1 & 511], grid[c2 & 511], grid[c3 & 511],
                                         grid[c4 & 511], grid[c5 & 511], grid[c6 & 511], grid[c7 & 511]).AsByte();
                var stepSigns = Avx512F.PermuteVar8x64(signBytes.AsUInt64(), lane).AsByte();
                var m = Vector512.Equals(Avx512BW.Shuffle(stepSigns, spread) & bits, bits).AsSByte();
                var a = Negate(Vector512.Load(q8), m);
                var s = Avx512F.PermuteVar16x32(scales, Vector512.Create((uint)(4 * k)) + Vector512.Create(0u, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
                sum += DotScaled(w, a, s.AsInt16());
            }
            float d = f16[*(ushort*)x] * *(float*)y;
            acc = AccumulateBlock(acc, d, sum);
        }
        return 0.125f * Sum(acc);
    }
}
