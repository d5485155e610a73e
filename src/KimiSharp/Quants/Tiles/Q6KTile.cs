using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants.Tiles;

/// <summary>
/// Q6_K × Q8_K tile kernel (see <see cref="TileKernel"/>). Per weight block, chunk by chunk, the 32 six-bit levels
/// (0..63, unsigned) and their two group scales (i16: 8 lanes of group 2c, 8 of group 2c+1) are unpacked once into
/// registers and met by every token: Σ_g sc_g·Σ q·q8 − 32·Σ_g sc_g·bsum_g (the −32 offset through the Q8_K group
/// sums), all in integers, then acc += d·d_a·Σ in 8 float lanes per token.
/// </summary>
internal static unsafe class Q6KTile
{
    private const int BlockBytes = 210, ActBytes = 292;

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
        int blocks = cols / 256;
        for (int b = 0; b < blocks; b++, w += BlockBytes, a0 += ActBytes, a1 += ActBytes, a2 += ActBytes, a3 += ActBytes,
             a4 += ActBytes, a5 += ActBytes, a6 += ActBytes, a7 += ActBytes)
        {
            var scaleBytes = Sse2.LoadVector128(w + 192);
            var both = Vector256.Create(scaleBytes, scaleBytes);
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            for (int c = 0; c < 8; c++)
            {
                var q = Levels(w, c);
                // i16 lanes 0..7 ← scale of group 2c, 8..15 ← group 2c+1 (pshufb into the high byte, then an arithmetic shift)
                var sc = Avx2.ShiftRightArithmetic(Avx2.Shuffle(both, ChunkScales(c)).AsInt16(), 8);
                int o = 32 * c;
                s0 = Step(s0, q, sc, a0 + o);
                if (n > 1) s1 = Step(s1, q, sc, a1 + o);
                if (n > 2) s2 = Step(s2, q, sc, a2 + o);
                if (n > 3) s3 = Step(s3, q, sc, a3 + o);
                if (n > 4) s4 = Step(s4, q, sc, a4 + o);
                if (n > 5) s5 = Step(s5, q, sc, a5 + o);
                if (n > 6) s6 = Step(s6, q, sc, a6 + o);
                if (n > 7) s7 = Step(s7, q, sc, a7 + o);
            }
            var offset = Vector256<short>.Zero - Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int16((sbyte*)(w + 192)), 5); // −32·sc_g
            var d = Vector256.Create(f16[*(ushort*)(w + 208)]);
            Finish(ref acc[0], s0, a0, offset, d);
            if (n > 1) Finish(ref acc[1], s1, a1, offset, d);
            if (n > 2) Finish(ref acc[2], s2, a2, offset, d);
            if (n > 3) Finish(ref acc[3], s3, a3, offset, d);
            if (n > 4) Finish(ref acc[4], s4, a4, offset, d);
            if (n > 5) Finish(ref acc[5], s5, a5, offset, d);
            if (n > 6) Finish(ref acc[6], s6, a6, offset, d);
            if (n > 7) Finish(ref acc[7], s7, a7, offset, d);
        }
        for (int j = 0; j < n; j++)
            y[j] = SimdOps.HorizontalSum(acc[j]);
    }

    /// <summary>
    /// The 32 levels (0..63) of chunk c (elements 32c..), from ggml's layout: per half h = c/4 of 128 elements,
    /// ql[64] (chunk k = c%4 takes the low nibbles of ql[32(k&amp;1)..] for k &lt; 2, the high ones for k ≥ 2) and qh[32]
    /// (bits 2k, 2k+1 are the level's top two bits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Levels(byte* w, int c)
    {
        int h = c >> 2, k = c & 3;
        var ql = Avx.LoadVector256(w + 64 * h + 32 * (k & 1));
        var qh = Avx.LoadVector256(w + 128 + 32 * h).AsUInt16();
        var nib = k < 2 ? ql : Avx2.ShiftRightLogical(ql.AsUInt16(), 4).AsByte();
        // (qh >> 2k) & 3, moved to bits 4..5: 16-bit shifts, then the byte mask drops what crossed bytes
        var top = k switch
        {
            0 => Avx2.ShiftLeftLogical(qh, 4),
            1 => Avx2.ShiftLeftLogical(qh, 2),
            2 => qh,
            _ => Avx2.ShiftRightLogical(qh, 2),
        };
        return Avx2.Or(Avx2.And(nib, Vector256.Create((byte)0x0F)), Avx2.And(top.AsByte(), Vector256.Create((byte)0x30)));
    }

    /// <summary>pshufb indices putting scale byte 2c (lanes 0..7) and 2c+1 (lanes 8..15) in the high byte of each i16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> ChunkScales(int c) =>
        Vector256.Create(Vector128.Create(unchecked((short)((2 * c) << 8 | 0x80))), Vector128.Create(unchecked((short)((2 * c + 1) << 8 | 0x80)))).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Step(Vector256<int> s, Vector256<byte> q, Vector256<short> sc, byte* q8) =>
        s + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Avx.LoadVector256((sbyte*)q8)), sc);

    /// <summary>acc += d·d_a·(Σ + Σ_g (−32·sc_g)·bsum_g); <paramref name="qs"/> points at the block's quants (d_a 4 bytes before).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(ref Vector256<float> acc, Vector256<int> sum, byte* qs, Vector256<short> offset, Vector256<float> d)
    {
        var total = sum + Avx2.MultiplyAddAdjacent(Avx.LoadVector256((short*)(qs + 256)), offset);
        acc = Fma.MultiplyAdd(d * Vector256.Create(*(float*)(qs - 4)), Avx.ConvertToVector256Single(total), acc);
    }
}
