using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants.Tiles;

/// <summary>
/// Q4_K × Q8_K tile kernel (see <see cref="TileKernel"/>). Per weight block, chunk by chunk, the 32 nibbles and their
/// six-bit scale (broadcast as i16) are unpacked once into registers and met by every token's activations:
/// Σ_j sc_j·Σ q·q8 with pmaddubsw/pmaddwd into one integer accumulator per token (registers); at the block's end
/// mins·bsums with one pmaddwd (each min twice, to meet the Q8_K group sums in pairs) and
/// acc += d_a·(d·Σ − dmin·M) in 8 float lanes per token (summed at the end of the row).
/// </summary>
internal static unsafe class Q4KTile
{
    private const int BlockBytes = 144, ActBytes = 292;

    public static void Run(byte* w, byte** a, int count, int cols, float* y)
    {
        switch (count)
        {
            case 1: Core<Tokens1>(w, a, cols, y); break;
            case 2: Core<Tokens2>(w, a, cols, y); break;
            case 3: Core<Tokens3>(w, a, cols, y); break;
            case 4: Core<Tokens4>(w, a, cols, y); break;
            case 5: Core<Tokens5>(w, a, cols, y); break;
            case 6: Core<Tokens6>(w, a, cols, y); break;
            case 7: Core<Tokens7>(w, a, cols, y); break;
            case 8: Core<Tokens8>(w, a, cols, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(count), count, $"1..{TileKernels.MaxTokens} tokens per tile");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Core<TN>(byte* w, byte** a, int cols, float* y) where TN : struct, ITokenCount
    {
        int n = TN.Count;
        float* f16 = Fp16.TablePointer;
        byte* a0 = a[0] + 4, a1 = n > 1 ? a[1] + 4 : a0, a2 = n > 2 ? a[2] + 4 : a0, a3 = n > 3 ? a[3] + 4 : a0;
        byte* a4 = n > 4 ? a[4] + 4 : a0, a5 = n > 5 ? a[5] + 4 : a0, a6 = n > 6 ? a[6] + 4 : a0, a7 = n > 7 ? a[7] + 4 : a0;
        var acc = stackalloc Vector256<float>[TileKernels.MaxTokens];
        for (int j = 0; j < n; j++) acc[j] = default;
        var low = Vector256.Create((byte)0x0F);
        int blocks = cols / 256;
        for (int b = 0; b < blocks; b++, w += BlockBytes, a0 += ActBytes, a1 += ActBytes, a2 += ActBytes, a3 += ActBytes,
             a4 += ActBytes, a5 += ActBytes, a6 += ActBytes, a7 += ActBytes)
        {
            var sm = KScalePacking.UnpackScaleMin6Bytes(w + 4);               // bytes 0..7 scales, 8..15 mins
            var both = Vector256.Create(sm, sm);
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            byte* q = w + 16;
            for (int c = 0; c < 8; c += 2, q += 32)
            {
                // chunk c: low nibbles of 32 bytes (elements 32c..), chunk c+1: their high nibbles; pshufb broadcasts scale byte c as i16
                var bits = Avx.LoadVector256(q);
                var lo = Avx2.And(bits, low);
                var hi = Avx2.And(Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte(), low);
                var scLo = Avx2.Shuffle(both, Vector256.Create(unchecked((short)(0x8000 | c))).AsByte()).AsInt16();
                var scHi = Avx2.Shuffle(both, Vector256.Create(unchecked((short)(0x8000 | (c + 1)))).AsByte()).AsInt16();
                int o = 32 * c;
                s0 = Step(s0, lo, hi, scLo, scHi, a0 + o);
                if (n > 1) s1 = Step(s1, lo, hi, scLo, scHi, a1 + o);
                if (n > 2) s2 = Step(s2, lo, hi, scLo, scHi, a2 + o);
                if (n > 3) s3 = Step(s3, lo, hi, scLo, scHi, a3 + o);
                if (n > 4) s4 = Step(s4, lo, hi, scLo, scHi, a4 + o);
                if (n > 5) s5 = Step(s5, lo, hi, scLo, scHi, a5 + o);
                if (n > 6) s6 = Step(s6, lo, hi, scLo, scHi, a6 + o);
                if (n > 7) s7 = Step(s7, lo, hi, scLo, scHi, a7 + o);
            }
            // i16 lane i ← min byte 8 + i/2 (pairs of Q8_K group sums share a min); a constant, not a static field, so the
            // JIT needs no class-initialization check (a call) in this method
            var mins = Avx2.Shuffle(both, Vector256.Create(
                unchecked((short)0x8008), unchecked((short)0x8008), unchecked((short)0x8009), unchecked((short)0x8009),
                unchecked((short)0x800A), unchecked((short)0x800A), unchecked((short)0x800B), unchecked((short)0x800B),
                unchecked((short)0x800C), unchecked((short)0x800C), unchecked((short)0x800D), unchecked((short)0x800D),
                unchecked((short)0x800E), unchecked((short)0x800E), unchecked((short)0x800F), unchecked((short)0x800F)).AsByte()).AsInt16();
            var d = Vector256.Create(f16[*(ushort*)w]);
            var dmin = Vector256.Create(f16[*(ushort*)(w + 2)]);
            Finish(ref acc[0], s0, a0, mins, d, dmin);
            if (n > 1) Finish(ref acc[1], s1, a1, mins, d, dmin);
            if (n > 2) Finish(ref acc[2], s2, a2, mins, d, dmin);
            if (n > 3) Finish(ref acc[3], s3, a3, mins, d, dmin);
            if (n > 4) Finish(ref acc[4], s4, a4, mins, d, dmin);
            if (n > 5) Finish(ref acc[5], s5, a5, mins, d, dmin);
            if (n > 6) Finish(ref acc[6], s6, a6, mins, d, dmin);
            if (n > 7) Finish(ref acc[7], s7, a7, mins, d, dmin);
        }
        for (int j = 0; j < n; j++)
            y[j] = SimdOps.HorizontalSum(acc[j]);
    }

    /// <summary>s + sc_lo·Σ lo·q8[0..32) + sc_hi·Σ hi·q8[32..64) (q8 points at the chunk pair's activations).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Step(Vector256<int> s, Vector256<byte> lo, Vector256<byte> hi, Vector256<short> scLo, Vector256<short> scHi, byte* q8) =>
        s + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(lo, Avx.LoadVector256((sbyte*)q8)), scLo)
          + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(hi, Avx.LoadVector256((sbyte*)q8 + 32)), scHi);

    /// <summary>acc += d_a·(d·Σ − dmin·Σ_j m_j·(bsum pair j)); <paramref name="qs"/> points at the block's quants (d_a 4 bytes before).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(ref Vector256<float> acc, Vector256<int> sum, byte* qs, Vector256<short> mins, Vector256<float> d, Vector256<float> dmin)
    {
        var m = Avx2.MultiplyAddAdjacent(Avx.LoadVector256((short*)(qs + 256)), mins);
        var v = Fma.MultiplyAddNegated(dmin, Avx.ConvertToVector256Single(m), d * Avx.ConvertToVector256Single(sum));
        acc = Fma.MultiplyAdd(Vector256.Create(*(float*)(qs - 4)), v, acc);
    }
}
