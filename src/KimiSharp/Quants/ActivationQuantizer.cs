using System.Runtime.InteropServices;

namespace KimiSharp.Quants;

/// <summary>
/// Quantizes F32 activation rows into the formats the dot products consume (ggml's vec_dot types):
/// Q8_0 (32 per block, fp16 scale), Q8_1 (Q8_0 plus fp16 d·Σq) and Q8_K (256 per block, f32 scale, 16 group sums).
/// Layouts: Q8_0 = d:fp16 qs[32]:i8 (34 B); Q8_1 = d:fp16 s:fp16 qs[32]:i8 (36 B);
/// Q8_K = d:f32 qs[256]:i8 bsums[16]:i16 (292 B).
/// </summary>
public static unsafe partial class ActivationQuantizer
{
    public const int Q8_0BlockBytes = 34;
    public const int Q8_1BlockBytes = 36;
    public const int Q8_KBlockBytes = 292;

    /// <summary>Quantizes x into <paramref name="vecDotType"/> (Q8_0, Q8_1, Q8_K, F32, F16 or BF16), as ggml-cpu does for mat-mul.</summary>
    public static void Quantize(GgmlType vecDotType, ReadOnlySpan<float> x, Span<byte> dst)
    {
        QuantCodecs.CheckLengths(vecDotType, dst.Length, x.Length);
        switch (vecDotType)
        {
            case GgmlType.Q8_0: Q8_0(x, dst); break;
            case GgmlType.Q8_1: Q8_1(x, dst); break;
            case GgmlType.Q8_K: Q8_K(x, dst); break;
            case GgmlType.F32: MemoryMarshal.AsBytes(x).CopyTo(dst); break;
            case GgmlType.F16:
                for (int i = 0; i < x.Length; i++)
                    MemoryMarshal.Write(dst[(2 * i)..], Fp16.FromFloat(x[i]));
                break;
            case GgmlType.BF16:
                for (int i = 0; i < x.Length; i++)
                    MemoryMarshal.Write(dst[(2 * i)..], Fp16.FloatToBF16(x[i]));
                break;
            default: throw new NotSupportedException($"{vecDotType} is not an activation format");
        }
    }

    /// <summary>
    /// Q8_0 as ggml-cpu quantizes activations on x86 (quantize_row_q8_0 AVX path): d = amax/127,
    /// q = round-half-even(x · (127/amax)). This is what llama.cpp's mat-mul actually uses.
    /// </summary>
    public static void Q8_0(ReadOnlySpan<float> x, Span<byte> dst) => Q8_0(x, dst, System.Runtime.Intrinsics.X86.Avx2.IsSupported);

    /// <summary><see cref="Q8_0(ReadOnlySpan{float}, Span{byte})"/> with the SIMD block path on or off (tests cover both).</summary>
    internal static void Q8_0(ReadOnlySpan<float> x, Span<byte> dst, bool simd)
    {
        CheckBlocks(GgmlType.Q8_0, x.Length, dst.Length);
        int blocks = x.Length / 32;
        fixed (float* px = x)
        fixed (byte* py = dst)
        {
            for (int b = 0; b < blocks; b++)
            {
                float* xb = px + b * 32;
                byte* yb = py + b * Q8_0BlockBytes;
                if (simd)
                {
                    Q8_0BlockAvx2(xb, yb);
                    continue;
                }
                float amax = 0;
                for (int j = 0; j < 32; j++)
                    amax = MathF.Max(amax, MathF.Abs(xb[j]));
                float d = amax / 127f;
                *(ushort*)yb = Fp16.FromFloat(d);
                float id = amax != 0 ? 127f / amax : 0f;
                sbyte* qs = (sbyte*)(yb + 2);
                for (int j = 0; j < 32; j++)
                    qs[j] = (sbyte)(int)MathF.Round(xb[j] * id, MidpointRounding.ToEven);
            }
        }
    }

    /// <summary>Q8_0 as ggml's quantize_row_q8_0_ref: d = amax/127, q = round-half-away(x · (1/d)).</summary>
    public static void Q8_0Reference(ReadOnlySpan<float> x, Span<byte> dst)
    {
        CheckBlocks(GgmlType.Q8_0, x.Length, dst.Length);
        int blocks = x.Length / 32;
        fixed (float* px = x)
        fixed (byte* py = dst)
        {
            for (int b = 0; b < blocks; b++)
            {
                float* xb = px + b * 32;
                byte* yb = py + b * Q8_0BlockBytes;
                float amax = 0;
                for (int j = 0; j < 32; j++)
                    amax = MathF.Max(amax, MathF.Abs(xb[j]));
                float d = amax / 127f;
                float id = d != 0 ? 1f / d : 0f;
                *(ushort*)yb = Fp16.FromFloat(d);
                sbyte* qs = (sbyte*)(yb + 2);
                for (int j = 0; j < 32; j++)
                    qs[j] = (sbyte)(int)MathF.Round(xb[j] * id, MidpointRounding.AwayFromZero);
            }
        }
    }

    /// <summary>
    /// Q8_1 as ggml-cpu quantizes activations on x86: like <see cref="Q8_0"/> plus s = fp16(d · Σq).
    /// </summary>
    public static void Q8_1(ReadOnlySpan<float> x, Span<byte> dst)
    {
        CheckBlocks(GgmlType.Q8_1, x.Length, dst.Length);
        int blocks = x.Length / 32;
        fixed (float* px = x)
        fixed (byte* py = dst)
        {
            for (int b = 0; b < blocks; b++)
            {
                float* xb = px + b * 32;
                byte* yb = py + b * Q8_1BlockBytes;
                float amax = 0;
                for (int j = 0; j < 32; j++)
                    amax = MathF.Max(amax, MathF.Abs(xb[j]));
                float d = amax / 127f;
                float id = amax != 0 ? 127f / amax : 0f;
                sbyte* qs = (sbyte*)(yb + 4);
                int sum = 0;
                for (int j = 0; j < 32; j++)
                {
                    int q = (int)MathF.Round(xb[j] * id, MidpointRounding.ToEven);
                    qs[j] = (sbyte)q;
                    sum += q;
                }
                *(ushort*)yb = Fp16.FromFloat(d);
                *(ushort*)(yb + 2) = Fp16.FromFloat(d * sum);
            }
        }
    }

    /// <summary>Q8_1 as ggml's quantize_row_q8_1_ref (round half away from zero, q = x · (1/d)).</summary>
    public static void Q8_1Reference(ReadOnlySpan<float> x, Span<byte> dst)
    {
        CheckBlocks(GgmlType.Q8_1, x.Length, dst.Length);
        int blocks = x.Length / 32;
        fixed (float* px = x)
        fixed (byte* py = dst)
        {
            for (int b = 0; b < blocks; b++)
            {
                float* xb = px + b * 32;
                byte* yb = py + b * Q8_1BlockBytes;
                float amax = 0;
                for (int j = 0; j < 32; j++)
                    amax = MathF.Max(amax, MathF.Abs(xb[j]));
                float d = amax / 127f;
                float id = d != 0 ? 1f / d : 0f;
                sbyte* qs = (sbyte*)(yb + 4);
                int sum = 0;
                for (int j = 0; j < 16; j++)
                {
                    int q0 = (int)MathF.Round(xb[j] * id, MidpointRounding.AwayFromZero);
                    int q1 = (int)MathF.Round(xb[j + 16] * id, MidpointRounding.AwayFromZero);
                    qs[j] = (sbyte)q0;
                    qs[j + 16] = (sbyte)q1;
                    sum += q0 + q1;
                }
                *(ushort*)yb = Fp16.FromFloat(d);
                *(ushort*)(yb + 2) = Fp16.FromFloat(sum * d);
            }
        }
    }

    /// <summary>
    /// Q8_K as ggml's quantize_row_q8_K_ref (also what ggml-cpu uses on x86): max = the signed value of largest |x|,
    /// iscale = −127/max, q = min(127, round-half-even(iscale·x)), d = 1/iscale, bsums[g] = Σ of group g's 16 q.
    /// An all-zero block gets d = 0, q = 0, bsums = 0.
    /// </summary>
    public static void Q8_K(ReadOnlySpan<float> x, Span<byte> dst) => Q8_K(x, dst, System.Runtime.Intrinsics.X86.Avx2.IsSupported);

    /// <summary><see cref="Q8_K(ReadOnlySpan{float}, Span{byte})"/> with the SIMD block path on or off (tests cover both).</summary>
    internal static void Q8_K(ReadOnlySpan<float> x, Span<byte> dst, bool simd)
    {
        CheckBlocks(GgmlType.Q8_K, x.Length, dst.Length);
        int blocks = x.Length / 256;
        fixed (float* px = x)
        fixed (byte* py = dst)
        {
            for (int b = 0; b < blocks; b++)
            {
                if (simd)
                    Q8_KBlockAvx2(px + b * 256, py + b * Q8_KBlockBytes);
                else
                    ScalarQ8_KBlock(px + b * 256, py + b * Q8_KBlockBytes);
            }
        }
    }

    private static void ScalarQ8_KBlock(float* xb, byte* yb)
    {
        sbyte* qs = (sbyte*)(yb + 4);
        short* bsums = (short*)(yb + 260);
        float max = 0, amax = 0;
        for (int j = 0; j < 256; j++)
        {
            float ax = MathF.Abs(xb[j]);
            if (ax > amax)
            {
                amax = ax;
                max = xb[j];
            }
        }
        if (amax == 0)
        {
            new Span<byte>(yb, Q8_KBlockBytes).Clear();
            return;
        }
        float iscale = -127f / max;
        for (int g = 0; g < 16; g++)
        {
            int sum = 0;
            for (int j = g * 16; j < g * 16 + 16; j++)
            {
                int q = Math.Min(127, (int)MathF.Round(iscale * xb[j], MidpointRounding.ToEven));
                qs[j] = (sbyte)q;
                sum += q;
            }
            bsums[g] = (short)sum;
        }
        *(float*)yb = 1f / iscale;
    }

    /// <summary>Whole blocks only, and room for them in dst (a larger buffer is fine).</summary>
    private static void CheckBlocks(GgmlType type, int elements, int bytes)
    {
        long needed = GgmlTypes.Get(type).RowBytes(elements);
        if (bytes < needed)
            throw new ArgumentException($"{type}: {elements} elements need {needed} bytes, got {bytes}");
    }
}
