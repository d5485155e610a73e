using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static KimiSharp.Quants.IQuants.IQuantMath;

namespace KimiSharp.Quants.IQuants;

/// <summary>
/// TQ1_0, ternary at 1.6875 bpw. Block of 256 (54 bytes): qs[48], qh[4], d:f16. Each byte packs 5 (qs) or 4 (qh)
/// base-3 digits as a fixed-point fraction: digit n of byte v is ((v·3ⁿ mod 256)·3) &gt;&gt; 8. Elements: qs[0..31] digit n →
/// 32n + m; qs[32..47] digit n → 160 + 16n + m; qh[0..3] digit n → 240 + 4n + j. Value = d·(digit − 1).
/// </summary>
internal sealed unsafe class Tq1Codec : IQuantCodecBase
{
    public override GgmlType Type => GgmlType.TQ1_0;

    private static ReadOnlySpan<byte> Pow3 => [1, 3, 9, 27, 81, 243];

    private static int Digit(byte v, int n) => ((byte)(v * Pow3[n]) * 3) >> 8;

    protected override void DequantizeBlock(byte* block, float* y)
    {
        float d = Half(block + 52);
        for (int n = 0; n < 5; n++)
            for (int m = 0; m < 32; m++)
                y[32 * n + m] = (Digit(block[m], n) - 1) * d;
        for (int n = 0; n < 5; n++)
            for (int m = 0; m < 16; m++)
                y[160 + 16 * n + m] = (Digit(block[32 + m], n) - 1) * d;
        for (int n = 0; n < 4; n++)
            for (int j = 0; j < 4; j++)
                y[240 + 4 * n + j] = (Digit(block[48 + j], n) - 1) * d;
    }

    public override IReadOnlyList<DotKernel> Kernels { get; } = DotKernels();

    private static DotKernel[] DotKernels()
    {
        var list = new List<DotKernel> { new("Scalar", &DotScalar) };
        if (Vector128.IsHardwareAccelerated) list.Add(new("Vector128", &IQuantsVector128.Tq1Dot));
        if (HasAvx2) list.Add(new("Avx2", &DotAvx2));
        if (HasAvx512) list.Add(new("Avx512", &DotAvx512));
        return [.. list];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotScalar(byte* x, byte* y, int n)
    {
        float sum = 0;
        for (int b = 0; b < n / 256; b++, x += 54, y += Q8KBytes)
        {
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            int sumi = 0;
            for (int k = 0; k < 5; k++)
                for (int m = 0; m < 32; m++)
                    sumi += (Digit(x[m], k) - 1) * q8[32 * k + m];
            for (int k = 0; k < 5; k++)
                for (int m = 0; m < 16; m++)
                    sumi += (Digit(x[32 + m], k) - 1) * q8[160 + 16 * k + m];
            for (int k = 0; k < 4; k++)
                for (int j = 0; j < 4; j++)
                    sumi += (Digit(x[48 + j], k) - 1) * q8[240 + 4 * k + j];
            sum += sumi * (Half(x + 52) * *(float*)y);
        }
        return sum;
    }

    /// <summary>
    /// Digit n of every byte at once: multiply by 3ⁿ with wrapping byte adds, then take the high byte of v·3 per
    /// 16-bit lane (odd and even bytes separately). Σ (digit−1)·a = Σ digit·a − Σ a, Σ a from the bsums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx2(byte* x, byte* y, int n)
    {
        var three = Vector256.Create((ushort)3);
        var highBytes = Vector256.Create((ushort)0xFF00);
        var ones = Vector256.Create((short)1);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 54, y += Q8KBytes)
        {
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var pairs = Vector256<short>.Zero;
            var v = Avx.LoadVector256(x);
            for (int k = 0; k < 5; k++)
            {
                pairs += Avx2.MultiplyAddAdjacent(Digits(v, three, highBytes), Avx.LoadVector256(q8 + 32 * k));
                v = v + v + v;
            }
            // qs[32..47]: digits (0, 1) and (2, 3) side by side in the two 128-bit lanes, then digit 4 beside the
            // 16 qh digits, whose element order (240 + 4n + j) is that of bytes [qh·1, qh·3, qh·9, qh·27].
            var tail = Vector128.Load(x + 32);
            var t = Vector256.Create(tail, tail + tail + tail);
            for (int k = 0; k < 4; k += 2)
            {
                var a = Vector256.Create(Vector128.Load(q8 + 160 + 16 * k), Vector128.Load(q8 + 176 + 16 * k));
                pairs += Avx2.MultiplyAddAdjacent(Digits(t, three, highBytes), a);
                t = t + t + t;
                t = t + t + t;
            }
            var h1 = Vector128.Create(*(uint*)(x + 48)).AsByte();
            var h3 = h1 + h1 + h1;
            var h9 = h3 + h3 + h3;
            var h27 = h9 + h9 + h9;
            var qh = Avx2.Blend(Avx2.Blend(h1.AsInt32(), h3.AsInt32(), 0b0010), Avx2.Blend(h9.AsInt32(), h27.AsInt32(), 0b1000), 0b1100).AsByte();
            pairs += Avx2.MultiplyAddAdjacent(Digits(Vector256.Create(t.GetLower(), qh), three, highBytes),
                                              Vector256.Create(Vector128.Load(q8 + 224), Vector128.Load(q8 + 240)));
            var bsums = Avx.LoadVector256((short*)(y + Q8KBsums));
            var sum = Avx2.MultiplyAddAdjacent(pairs, ones) - Avx2.MultiplyAddAdjacent(bsums, ones);
            float d = Half(x + 52) * *(float*)y;
            acc = Fma.MultiplyAdd(Vector256.Create(d), Avx.ConvertToVector256Single(sum), acc);
        }
        return Sum(acc);
    }

    /// <summary>Four 64-lane steps over contiguous activations: digits (0,1), (2,3) of qs[0..31]; digit 4 with tail digits (0,1); tail (2,3); tail 4 with the qh digits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotAvx512(byte* x, byte* y, int n)
    {
        float* f16 = HalfTable;
        var three = Vector512.Create((ushort)3);
        var highBytes = Vector512.Create((ushort)0xFF00);
        var ones = Vector512.Create((short)1);
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++, x += 54, y += Q8KBytes)
        {
            sbyte* q8 = (sbyte*)(y + Q8KQs);
            var v1 = Vector256.Load(x);
            var v3 = v1 + v1 + v1;
            var v9 = v3 + v3 + v3;
            var v27 = v9 + v9 + v9;
            var v81 = v27 + v27 + v27;
            var t1 = Vector128.Load(x + 32);
            var t3 = t1 + t1 + t1;
            var t9 = t3 + t3 + t3;
            var t27 = t9 + t9 + t9;
            var t81 = t27 + t27 + t27;
            var h1 = Vector128.Create(*(uint*)(x + 48)).AsByte();
            var h3 = h1 + h1 + h1;
            var h9 = h3 + h3 + h3;
            var h27 = h9 + h9 + h9;
            var qh = Avx2.Blend(Avx2.Blend(h1.AsInt32(), h3.AsInt32(), 0b0010), Avx2.Blend(h9.AsInt32(), h27.AsInt32(), 0b1000), 0b1100).AsByte();
            var pairs = Avx512BW.MultiplyAddAdjacent(Digits(SimdOps.Join(v1, v3), three, highBytes), Vector512.Load(q8));
            pairs += Avx512BW.MultiplyAddAdjacent(Digits(SimdOps.Join(v9, v27), three, highBytes), Vector512.Load(q8 + 64));
            pairs += Avx512BW.MultiplyAddAdjacent(Digits(SimdOps.Join(v81, Vector256.Create(t1, t3)), three, highBytes), Vector512.Load(q8 + 128));
            pairs += Avx512BW.MultiplyAddAdjacent(Digits(SimdOps.Join(Vector256.Create(t9, t27), Vector256.Create(t81, qh)), three, highBytes), Vector512.Load(q8 + 192));
            var sums = Avx512BW.MultiplyAddAdjacent(pairs, ones);
            var sum = sums.GetLower() + sums.GetUpper() - Avx2.MultiplyAddAdjacent(Avx.LoadVector256((short*)(y + Q8KBsums)), Vector256.Create((short)1));
            acc = Fma.MultiplyAdd(Vector256.Create(f16[*(ushort*)(x + 52)] * *(float*)y), Avx.ConvertToVector256Single(sum), acc);
        }
        return Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Digits(Vector512<byte> v, Vector512<ushort> three, Vector512<ushort> highBytes)
    {
        var w = v.AsUInt16();
        var even = Avx512BW.MultiplyHigh(Avx512BW.ShiftLeftLogical(w, 8), three);
        var odd = Avx512BW.MultiplyHigh(w & highBytes, three);
        return (even | Avx512BW.ShiftLeftLogical(odd, 8)).AsByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Digits(Vector256<byte> v, Vector256<ushort> three, Vector256<ushort> highBytes)
    {
        var w = v.AsUInt16();
        var even = Avx2.MultiplyHigh(Avx2.ShiftLeftLogical(w, 8), three);
        var odd = Avx2.MultiplyHigh(w & highBytes, three);
        return (even | Avx2.ShiftLeftLogical(odd, 8)).AsByte();
    }
}
