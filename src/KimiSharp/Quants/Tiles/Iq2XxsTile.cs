using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using KimiSharp.Quants.IQuants;

namespace KimiSharp.Quants.Tiles;

/// <summary>
/// IQ2_XXS × Q8_K tile kernel (see <see cref="TileKernel"/>). The grid lookups dominate this type's dot product, so per
/// group of 32 the grid bytes (|w|, 8..43), sign units (±1 per lane) and scale 2s+1 are looked up once into registers
/// and met by every token: Σ_g (2s_g+1)·Σ |w|·(q8·sign) with psignb/pmaddubsw/pmaddwd, then acc += d·d_a/8·Σ in 8
/// float lanes per token.
/// </summary>
internal static unsafe class Iq2XxsTile
{
    private const int BlockBytes = 66, ActBytes = 292;

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
        ulong* grid = IQuantGrids.Iq2Xxs;
        ulong* sign = IQuantGrids.EvenSignUnits;
        byte* a0 = a[0] + 4, a1 = n > 1 ? a[1] + 4 : a0, a2 = n > 2 ? a[2] + 4 : a0, a3 = n > 3 ? a[3] + 4 : a0;
        byte* a4 = n > 4 ? a[4] + 4 : a0, a5 = n > 5 ? a[5] + 4 : a0, a6 = n > 6 ? a[6] + 4 : a0, a7 = n > 7 ? a[7] + 4 : a0;
        var acc = stackalloc Vector256<float>[TileKernels.MaxTokens];
        for (int j = 0; j < n; j++) acc[j] = default;
        int blocks = cols / 256;
        for (int b = 0; b < blocks; b++, w += BlockBytes, a0 += ActBytes, a1 += ActBytes, a2 += ActBytes, a3 += ActBytes,
             a4 += ActBytes, a5 += ActBytes, a6 += ActBytes, a7 += ActBytes)
        {
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            uint* q = (uint*)(w + 2);
            for (int g = 0; g < 8; g++, q += 2)
            {
                uint gi = q[0], sg = q[1];
                var mag = Vector256.Create(grid[gi & 255], grid[(gi >> 8) & 255], grid[(gi >> 16) & 255], grid[gi >> 24]).AsByte();
                var units = Vector256.Create(sign[sg & 127], sign[(sg >> 7) & 127], sign[(sg >> 14) & 127], sign[(sg >> 21) & 127]).AsSByte();
                var sc = Vector256.Create((short)(2 * (sg >> 28) + 1));
                int o = 32 * g;
                s0 = Step(s0, mag, units, sc, a0 + o);
                if (n > 1) s1 = Step(s1, mag, units, sc, a1 + o);
                if (n > 2) s2 = Step(s2, mag, units, sc, a2 + o);
                if (n > 3) s3 = Step(s3, mag, units, sc, a3 + o);
                if (n > 4) s4 = Step(s4, mag, units, sc, a4 + o);
                if (n > 5) s5 = Step(s5, mag, units, sc, a5 + o);
                if (n > 6) s6 = Step(s6, mag, units, sc, a6 + o);
                if (n > 7) s7 = Step(s7, mag, units, sc, a7 + o);
            }
            var d = Vector256.Create(0.125f * f16[*(ushort*)w]);
            Finish(ref acc[0], s0, a0, d);
            if (n > 1) Finish(ref acc[1], s1, a1, d);
            if (n > 2) Finish(ref acc[2], s2, a2, d);
            if (n > 3) Finish(ref acc[3], s3, a3, d);
            if (n > 4) Finish(ref acc[4], s4, a4, d);
            if (n > 5) Finish(ref acc[5], s5, a5, d);
            if (n > 6) Finish(ref acc[6], s6, a6, d);
            if (n > 7) Finish(ref acc[7], s7, a7, d);
        }
        for (int j = 0; j < n; j++)
            y[j] = SimdOps.HorizontalSum(acc[j]);
    }

    /// <summary>s + (2s_g+1)·Σ |w|·(±q8) over one group of 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Step(Vector256<int> s, Vector256<byte> mag, Vector256<sbyte> units, Vector256<short> sc, byte* q8) =>
        s + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(mag, Avx2.Sign(Avx.LoadVector256((sbyte*)q8), units)), sc);

    /// <summary>acc += d/8·d_a·Σ; <paramref name="qs"/> points at the block's quants (d_a 4 bytes before).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(ref Vector256<float> acc, Vector256<int> sum, byte* qs, Vector256<float> d) =>
        acc = Fma.MultiplyAdd(d * Vector256.Create(*(float*)(qs - 4)), Avx.ConvertToVector256Single(sum), acc);
}
