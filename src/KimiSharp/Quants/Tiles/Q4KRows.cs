using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants.Tiles;

/// <summary>
/// Q4_K × Q8_K mat-vec, four weight rows against one token (AVX2 + FMA): the token's activations are loaded once per
/// chunk pair for all four rows, and the four rows' integer chains run interleaved (four weight streams in flight).
/// Each row is summed exactly as <see cref="Q4KTile"/> sums one token (same operations in the same order), so a row
/// gives the same bits here as through a tile.
/// </summary>
internal static unsafe class Q4KRows
{
    private const int BlockBytes = 144, ActBytes = 292;

    /// <summary>y[r] = W[r]·a for rows r = 0..3 of w (row stride <paramref name="rowBytes"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run4(byte* w, long rowBytes, byte* a, int cols, float* y)
    {
        float* f16 = Fp16.TablePointer;
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        var low = Vector256.Create((byte)0x0F);
        a += 4;
        int blocks = cols / 256;
        for (int b = 0; b < blocks; b++, w0 += BlockBytes, w1 += BlockBytes, w2 += BlockBytes, w3 += BlockBytes, a += ActBytes)
        {
            var both0 = Both(w0);
            var both1 = Both(w1);
            var both2 = Both(w2);
            var both3 = Both(w3);
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
            for (int c = 0; c < 8; c += 2)
            {
                int o = 32 * c, q = 16 + 16 * c;
                var xLo = Avx.LoadVector256((sbyte*)a + o);
                var xHi = Avx.LoadVector256((sbyte*)a + o + 32);
                var shLo = Vector256.Create(unchecked((short)(0x8000 | c))).AsByte();
                var shHi = Vector256.Create(unchecked((short)(0x8000 | (c + 1)))).AsByte();
                s0 = Step(s0, Avx.LoadVector256(w0 + q), low, both0, shLo, shHi, xLo, xHi);
                s1 = Step(s1, Avx.LoadVector256(w1 + q), low, both1, shLo, shHi, xLo, xHi);
                s2 = Step(s2, Avx.LoadVector256(w2 + q), low, both2, shLo, shHi, xLo, xHi);
                s3 = Step(s3, Avx.LoadVector256(w3 + q), low, both3, shLo, shHi, xLo, xHi);
            }
            var bsums = Avx.LoadVector256((short*)(a + 256));
            var da = Vector256.Create(*(float*)(a - 4));
            acc0 = Finish(acc0, s0, both0, bsums, da, w0, f16);
            acc1 = Finish(acc1, s1, both1, bsums, da, w1, f16);
            acc2 = Finish(acc2, s2, both2, bsums, da, w2, f16);
            acc3 = Finish(acc3, s3, both3, bsums, da, w3, f16);
        }
        y[0] = SimdOps.HorizontalSum(acc0);
        y[1] = SimdOps.HorizontalSum(acc1);
        y[2] = SimdOps.HorizontalSum(acc2);
        y[3] = SimdOps.HorizontalSum(acc3);
    }

    /// <summary>The block's 8 scales (bytes 0..7) and 8 mins (8..15), in both 128-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Both(byte* block)
    {
        var sm = KScalePacking.UnpackScaleMin6Bytes(block + 4);
        return Vector256.Create(sm, sm);
    }

    /// <summary>s + sc_c·Σ lo·q8[0..32) + sc_c+1·Σ hi·q8[32..64), as <see cref="Q4KTile"/>'s step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Step(Vector256<int> s, Vector256<byte> bits, Vector256<byte> low, Vector256<byte> both,
        Vector256<byte> shLo, Vector256<byte> shHi, Vector256<sbyte> xLo, Vector256<sbyte> xHi)
    {
        var lo = Avx2.And(bits, low);
        var hi = Avx2.And(Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte(), low);
        var scLo = Avx2.Shuffle(both, shLo).AsInt16();
        var scHi = Avx2.Shuffle(both, shHi).AsInt16();
        return s + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(lo, xLo), scLo)
                 + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(hi, xHi), scHi);
    }

    /// <summary>acc + d_a·(d·Σ − dmin·Σ_j m_j·(bsum pair j)), as <see cref="Q4KTile"/>'s finish.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Finish(Vector256<float> acc, Vector256<int> sum, Vector256<byte> both, Vector256<short> bsums,
        Vector256<float> da, byte* block, float* f16)
    {
        var mins = Avx2.Shuffle(both, Vector256.Create(
            unchecked((short)0x8008), unchecked((short)0x8008), unchecked((short)0x8009), unchecked((short)0x8009),
            unchecked((short)0x800A), unchecked((short)0x800A), unchecked((short)0x800B), unchecked((short)0x800B),
            unchecked((short)0x800C), unchecked((short)0x800C), unchecked((short)0x800D), unchecked((short)0x800D),
            unchecked((short)0x800E), unchecked((short)0x800E), unchecked((short)0x800F), unchecked((short)0x800F)).AsByte()).AsInt16();
        var d = Vector256.Create(f16[*(ushort*)block]);
        var dmin = Vector256.Create(f16[*(ushort*)(block + 2)]);
        var m = Avx2.MultiplyAddAdjacent(bsums, mins);
        var v = Fma.MultiplyAddNegated(dmin, Avx.ConvertToVector256Single(m), d * Avx.ConvertToVector256Single(sum));
        return Fma.MultiplyAdd(da, v, acc);
    }
}
