using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// IQ2_S, 2.5625 bpw. Block of 256 (82 bytes): d:f16, qs[32] (low 8 bits of 10-bit grid indices), signs[32]
/// (one explicit sign byte per 8 lanes), qh[8] (per group of 32: 2 high index bits per 8 lanes), scales[8]
/// (low nibble: first 16 lanes of the group, high nibble: next 16). Value = d·(0.5 + s)·0.25 · grid lane · sign.
/// </summary>
internal sealed unsafe class Iq2SCodec : IQuantCodecBase
{
    public override GgmlType Type => GgmlType.IQ2_S;

    private static int Index(byte* qs, byte* qh, int ib, int l) => qs[4 * ib + l] | ((qh[ib] << (8 - 2 * l)) & 0x300);

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(block);
        byte* qs = block + 2, signs = block + 34, qh = block + 66, scales = block + 74;
        for (int ib = 0; ib < 8; ib++)
        {
            float db0 = d * (0.5f + (scales[ib] & 15)) * 0.25f;
            float db1 = d * (0.5f + (scales[ib] >> 4)) * 0.25f;
            for (int l = 0; l < 4; l++, y += 8)
            {
                byte* grid = (byte*)(IQuantGrids.Iq2S + Index(qs, qh, ib, l));
                byte s = signs[4 * ib + l];
                float db = l < 2 ? db0 : db1;
                for (int j = 0; j < 8; j++)
                    y[j] = db * grid[j] * ((s & (1 << j)) != 0 ? -1f : 1f);
            }
        }
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Vector128.IsHardwareAccelerated) list.Add(new("Vector128", &IQuantsVector128.Iq2SDot));
        if (HasAvx2) list.Add(new("Avx2", &DotAvx2));
        if (HasAvx512) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotScalar(byte* x, byte* y, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, x += 82, y += Q8KBytes)
        {
            float d = Half(x) * *(float*)y;
            byte* qs = x + 2, signs = x + 34, qh = x + 66, scales = x + 74;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            int blockSum = 0;
            for (int ib = 0; ib < 8; ib++)
            {
                int sum0 = 0, sum1 = 0;
                for (int l = 0; l < 4; l++, q8 += 8)
                {
                    byte* grid = (byte*)(IQuantGrids.Iq2S + Index(qs, qh, ib, l));
                    byte s = signs[4 * ib + l];
                    int part = 0;
                    for (int j = 0; j < 8; j++)
                        part += q8[j] * grid[j] * ((s & (1 << j)) != 0 ? -1 : 1);
                    if (l < 2) sum0 += part; else sum1 += part;
                }
                blockSum += (2 * (scales[ib] & 15) + 1) * sum0 + (2 * (scales[ib] >> 4) + 1) * sum1;
            }
            sum += d * blockSum;
        }
        return 0.125f * sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        ulong* grid = IQuantGrids.Iq2S;
        var spread = Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var bits = Vector256.Create(0x8040201008040201UL).AsByte();
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 82, y += Q8KBytes)
        {
            byte* qs = x + 2, signs = x + 34, qh = x + 66, scales = x + 74;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var sum = Vector256<int>.Zero;
            for (int ib = 0; ib < 8; ib++, qs += 4, signs += 4, q8 += 32)
            {
                ulong i = Bmi2.X64.ParallelBitDeposit(*(uint*)qs, 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(qh[ib], 0x0300030003000300UL);
                var w = Vector256.Create(grid[(ushort)i], grid[(ushort)(i >> 16)], grid[(ushort)(i >> 32)], grid[i >> 48]).AsByte();
                var m = Vector256.Equals(Avx2.Shuffle(Vector256.Create(*(uint*)signs).AsByte(), spread) & bits, bits).AsSByte();
                var a = (Avx.LoadVector256(q8) ^ m) - m;
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
        ulong* grid = IQuantGrids.Iq2S;
        float* f16 = HalfTable;
        // Bit j of each sign byte selects lane j: broadcast bytes to their 8 lanes, test against 1 << (lane % 8).
        var spread = Vector512.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
                                      4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
        var bits = Vector512.Create(0x8040201008040201UL).AsByte();
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 82, y += Q8KBytes)
        {
            byte* qs = x + 2, signs = x + 34, qh = x + 66;
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var packed = Vector128.CreateScalar(*(ulong*)(x + 74)).AsByte();
            var nibbles = Sse2.UnpackLow(packed & Vector128.Create((byte)15), Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & Vector128.Create((byte)15));
            var scales = (Avx512F.ConvertToVector512UInt32(nibbles) * 2 + Vector512<uint>.One) * 0x10001u;
            var sum = Vector512<int>.Zero;
            for (int k = 0; k < 4; k++, qs += 8, q8 += 64)
            {
                ulong i0 = Bmi2.X64.ParallelBitDeposit(*(uint*)qs, 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(qh[2 * k], 0x0300030003000300UL);
                ulong i1 = Bmi2.X64.ParallelBitDeposit(*(uint*)(qs + 4), 0x00FF00FF00FF00FFUL) | Bmi2.X64.ParallelBitDeposit(qh[2 * k + 1], 0x0300030003000300UL);
                var w = Vector512.Create(grid[(ushort)i0], grid[(ushort)(i0 >> 16)], grid[(ushort)(i0 >> 32)], grid[i0 >> 48],
                                         grid[(ushort)i1], grid[(ushort)(i1 >> 16)], grid[(ushort)(i1 >> 32)], grid[i1 >> 48]).AsByte();
                var signBytes = Vector512.Create(*(ulong*)(signs + 8 * k)).AsByte();
                var m = Vector512.Equals(Avx512BW.Shuffle(signBytes, spread) & bits, bits).AsSByte();
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
