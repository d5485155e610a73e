using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants;

/// <summary>AVX2 block quantizers with exactly the scalar rules (same products, round-half-even, same clamps).</summary>
public static unsafe partial class ActivationQuantizer
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Abs(Vector256<float> v) => Avx.And(v, Vector256.Create(0x7FFFFFFF).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector256<float> v)
    {
        var m = Sse.Max(v.GetLower(), v.GetUpper());
        m = Sse.Max(m, Sse.MoveHighToLow(m, m));
        m = Sse.MaxScalar(m, Sse.Shuffle(m, m, 1));
        return m.ToScalar();
    }

    /// <summary>Rounds 8 products half-to-even and converts them to int32 (cvtps2dq after an exact round).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> RoundToInt(Vector256<float> v) => Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(v));

    /// <summary>32 int32 (each in [−128, 127]) → 32 sbytes in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Pack(Vector256<int> a, Vector256<int> b, Vector256<int> c, Vector256<int> d)
    {
        var ab = Avx2.PackSignedSaturate(a, b);          // lanes interleave by 128 bits: a0 b0 | a1 b1
        var cd = Avx2.PackSignedSaturate(c, d);
        var bytes = Avx2.PackSignedSaturate(ab, cd);     // a0 b0 c0 d0 | a1 b1 c1 d1 (4-int groups)
        return Avx2.PermuteVar8x32(bytes.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsSByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q8_KBlockAvx2(float* x, byte* y)
    {
        var amaxV = Vector256<float>.Zero;
        for (int j = 0; j < 256; j += 8)
            amaxV = Avx.Max(amaxV, Abs(Avx.LoadVector256(x + j)));
        float amax = HorizontalMax(amaxV);
        if (!(amax > 0))
        {
            ScalarQ8_KBlock(x, y); // zero block (or NaNs): the scalar rules decide
            return;
        }
        float max = 0;
        for (int j = 0; j < 256; j++)
            if (MathF.Abs(x[j]) == amax) { max = x[j]; break; } // the first element of largest |x|, with its sign
        float iscale = -127f / max;
        var vs = Vector256.Create(iscale);
        var cap = Vector256.Create(127);
        sbyte* qs = (sbyte*)(y + 4);
        short* bsums = (short*)(y + 260);
        for (int g = 0; g < 8; g++)
        {
            float* xg = x + 32 * g;
            var q0 = Avx2.Min(RoundToInt(Avx.Multiply(vs, Avx.LoadVector256(xg))), cap);
            var q1 = Avx2.Min(RoundToInt(Avx.Multiply(vs, Avx.LoadVector256(xg + 8))), cap);
            var q2 = Avx2.Min(RoundToInt(Avx.Multiply(vs, Avx.LoadVector256(xg + 16))), cap);
            var q3 = Avx2.Min(RoundToInt(Avx.Multiply(vs, Avx.LoadVector256(xg + 24))), cap);
            Avx.Store(qs + 32 * g, Pack(q0, q1, q2, q3));
            bsums[2 * g] = (short)Vector256.Sum(Avx2.Add(q0, q1));
            bsums[2 * g + 1] = (short)Vector256.Sum(Avx2.Add(q2, q3));
        }
        *(float*)y = 1f / iscale;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q8_0BlockAvx2(float* x, byte* y)
    {
        var v0 = Avx.LoadVector256(x);
        var v1 = Avx.LoadVector256(x + 8);
        var v2 = Avx.LoadVector256(x + 16);
        var v3 = Avx.LoadVector256(x + 24);
        float amax = HorizontalMax(Avx.Max(Avx.Max(Abs(v0), Abs(v1)), Avx.Max(Abs(v2), Abs(v3))));
        float d = amax / 127f;
        *(ushort*)y = Fp16.FromFloat(d);
        float id = amax != 0 ? 127f / amax : 0f;
        var vid = Vector256.Create(id);
        Avx.Store((sbyte*)(y + 2), Pack(RoundToInt(Avx.Multiply(v0, vid)), RoundToInt(Avx.Multiply(v1, vid)),
            RoundToInt(Avx.Multiply(v2, vid)), RoundToInt(Avx.Multiply(v3, vid))));
    }
}
