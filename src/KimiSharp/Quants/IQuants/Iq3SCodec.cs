using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// IQ3_S, 3.4375 bpw. Block of 256 (110 bytes): d:f16, qs[64] (low 8 bits of 9-bit grid indices, 4 lanes each),
/// qh[8] (per group of 32: bit p is index bit 8 of the group's point p), signs[32] (explicit sign byte per 8 lanes),
/// scales[4] (a nibble s per group of 32). Value = d·(1 + 2s) · grid lane · sign.
/// </summary>
internal sealed unsafe class Iq3SCodec : IQuantCodecBase
{
    public override GgmlType Type => GgmlType.IQ3_S;

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(block);
        byte* qs = block + 2, qh = block + 66, signs = block + 74, scales = block + 106;
        for (int ib = 0; ib < 8; ib++, qs += 8, signs += 4)
        {
            float db = d * (1 + 2 * ((scales[ib / 2] >> (4 * (ib & 1))) & 15));
            for (int l = 0; l < 4; l++, y += 8)
            {
                byte* grid1 = (byte*)(IQuantGrids.Iq3S + (qs[2 * l] | ((qh[ib] << (8 - 2 * l)) & 256)));
                byte* grid2 = (byte*)(IQuantGrids.Iq3S + (qs[2 * l + 1] | ((qh[ib] << (7 - 2 * l)) & 256)));
                for (int j = 0; j < 4; j++)
                {
                    y[j] = db * grid1[j] * ((signs[l] & (1 << j)) != 0 ? -1f : 1f);
                    y[j + 4] = db * grid2[j] * ((signs[l] & (1 << (j + 4))) != 0 ? -1f : 1f);
                }
            }
        }
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Vector128.IsHardwareAccelerated) list.Add(new("Vector128", &IQuantsVector128.Iq3SDot));
        if (HasAvx2) list.Add(new("Avx2", &DotAvx2));
        if (HasAvx512) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotScalar(byte* x, byte* y, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, x += 110, y += Q8KBytes)
        {
            float d = Half(x) * *(float*)y;
            byte* qs = x + 2, qh = x + 66, signs = x + 74, scales = x + 106;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            int blockSum = 0;
            for (int ib = 0; ib < 8; ib++, qs += 8, signs += 4)
            {
                int groupSum = 0;
                for (int l = 0; l < 4; l++, q8 += 8)
                {
                    byte* grid1 = (byte*)(IQuantGrids.Iq3S + (qs[2 * l] | ((qh[ib] << (8 - 2 * l)) & 256)));
                    byte* grid2 = (byte*)(IQuantGrids.Iq3S + (qs[2 * l + 1] | ((qh[ib] << (7 - 2 * l)) & 256)));
                    for (int j = 0; j < 4; j++)
                    {
                        groupSum += grid1[j] * q8[j] * ((signs[l] & (1 << j)) != 0 ? -1 : 1);
                        groupSum += grid2[j] * q8[j + 4] * ((signs[l] & (1 << (j + 4))) != 0 ? -1 : 1);
                    }
                }
                blockSum += groupSum * (2 * ((scales[ib / 2] >> (4 * (ib & 1))) & 15) + 1);
            }
            sum += d * blockSum;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        uint* grid = IQuantGrids.Iq3S;
        var spread = Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var bits = Vector256.Create(0x8040201008040201UL).AsByte();
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 110, y += Q8KBytes)
        {
            byte* qs = x + 2, qh = x + 66, signs = x + 74, scales = x + 106;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var sum = Vector256<int>.Zero;
            for (int ib = 0; ib < 8; ib++, qs += 8, signs += 4, q8 += 32)
            {
                uint h = qh[ib];
                ulong i0 = Bmi2.X64.ParallelBitDeposit(*(uint*)qs, 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(h, 0x0100010001000100UL);
                ulong i1 = Bmi2.X64.ParallelBitDeposit(*(uint*)(qs + 4), 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(h >> 4, 0x0100010001000100UL);
                var w = Vector256.Create(grid[(ushort)i0], grid[(ushort)(i0 >> 16)], grid[(ushort)(i0 >> 32)], grid[i0 >> 48],
                                         grid[(ushort)i1], grid[(ushort)(i1 >> 16)], grid[(ushort)(i1 >> 32)], grid[i1 >> 48]).AsByte();
                var m = Vector256.Equals(Avx2.Shuffle(Vector256.Create(*(uint*)signs).AsByte(), spread) & bits, bits).AsSByte();
                var a = (Avx.LoadVector256(q8) ^ m) - m;
                sum += DotScaled(w, a, Vector256.Create((short)(2 * ((scales[ib / 2] >> (4 * (ib & 1))) & 15) + 1)));
            }
            float d = Half(x) * *(float*)y;
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sum), acc);
        }
        return Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        uint* grid = IQuantGrids.Iq3S;
        var spread = Vector512.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
                                      4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
        var bits = Vector512.Create(0x8040201008040201UL).AsByte();
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 110, y += Q8KBytes)
        {
            byte* qs = x + 2, qh = x + 66, signs = x + 74, scales = x + 106;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var sum = Vector512<int>.Zero;
            for (int k = 0; k < 4; k++, qs += 16, q8 += 64)
            {
                uint h = *(ushort*)(qh + 2 * k);
                ulong i0 = Bmi2.X64.ParallelBitDeposit(*(uint*)qs, 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(h, 0x0100010001000100UL);
                ulong i1 = Bmi2.X64.ParallelBitDeposit(*(uint*)(qs + 4), 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(h >> 4, 0x0100010001000100UL);
                ulong i2 = Bmi2.X64.ParallelBitDeposit(*(uint*)(qs + 8), 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(h >> 8, 0x0100010001000100UL);
                ulong i3 = Bmi2.X64.ParallelBitDeposit(*(uint*)(qs + 12), 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(h >> 12, 0x0100010001000100UL);
                var w = Vector512.Create(
                    grid[(ushort)i0], grid[(ushort)(i0 >> 16)], grid[(ushort)(i0 >> 32)], grid[i0 >> 48],
                    grid[(ushort)i1], grid[(ushort)(i1 >> 16)], grid[(ushort)(i1 >> 32)], grid[i1 >> 48],
                    grid[(ushort)i2], grid[(ushort)(i2 >> 16)], grid[(ushort)(i2 >> 32)], grid[i2 >> 48],
                    grid[(ushort)i3], grid[(ushort)(i3 >> 16)], grid[(ushort)(i3 >> 32)], grid[i3 >> 48]).AsByte();
                var signBytes = Vector512.Create(*(ulong*)(signs + 8 * k)).AsByte();
                var m = Vector512.Equals(Avx512BW.Shuffle(signBytes, spread) & bits, bits).AsSByte();
                var a = Negate(Vector512.Load(q8), m);
                int sc = scales[k];
                var s = Vector512.Create(Vector256.Create((short)(2 * (sc & 15) + 1)), Vector256.Create((short)(2 * (sc >> 4) + 1)));
                sum += DotScaled(w, a, s);
            }
            float d = Half(x) * *(float*)y;
            acc = AccumulateBlock(acc, d, sum);
        }
        return Sum(acc);
    }
}
