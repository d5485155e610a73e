using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using KimiSharp.Compute;

namespace KimiSharp.Quants;

/// <summary>
/// F32 mat-vec on AVX-512 for long rows: four weight rows per pass against one activation row. Each row keeps exactly
/// <see cref="GgmlFloatOrder.Dot"/>'s operations (= ggml_vec_dot_f32: four 16-lane FMA accumulators over 64-wide
/// steps, combined (a0 + a2) + (a1 + a3), reduced by halving, then the leftovers), so every output is bit-identical.
/// <para>The one-row dot reads the activation row again for every weight row; past <see cref="MaxOneRowElements"/>
/// floats (16 KiB) that row no longer stays in L1 next to the streaming weights, and four rows per pass read it a
/// quarter as often. Shorter rows stay one at a time: there the one-row dot is bound by reading the weights, and
/// several row streams at once measured slower (4096-wide rows: two per pass 0.94x ggml's vec_dot, four 0.85x, one
/// 0.97–1.0x; 7168-wide: one 1.0x, two 1.0–1.07x, four 1.12–1.17x).</para>
/// </summary>
internal static unsafe class FloatRowsSingle
{
    /// <summary>Rows per pass.</summary>
    public const int Rows = 4;

    /// <summary>Rows up to this long go one at a time.</summary>
    public const int MaxOneRowElements = 4096;

    private const int Step = GgmlFloatOrder.DotStep;

    /// <summary>dst[r] = <see cref="GgmlFloatOrder.Dot"/>(row r, a, n) for r &lt; rows (needs AVX-512F).</summary>
    public static void Dot(float* w, long rowBytes, float* a, int n, float* dst, int rows)
    {
        int np = n & ~(Step - 1);
        int r = 0;
        if (n > MaxOneRowElements)
        {
            var sums = stackalloc float[Rows];
            for (; r + Rows <= rows; r += Rows)
            {
                float* w0 = (float*)((byte*)w + r * rowBytes);
                Four(w0, rowBytes, a, np, sums);
                for (int k = 0; k < Rows; k++)
                    dst[r + k] = GgmlFloatOrder.DotLeftovers((float*)((byte*)w0 + k * rowBytes), a, np, n, sums[k]);
            }
        }
        for (; r < rows; r++)
            dst[r] = GgmlFloatOrder.Dot((float*)((byte*)w + r * rowBytes), a, n);
    }

    /// <summary>The 64-wide part of rows w0 … w0 + 3·rowBytes, each reduced as ggml does, into sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Four(float* w0, long rowBytes, float* a, int np, float* sums)
    {
        float* w1 = (float*)((byte*)w0 + rowBytes), w2 = (float*)((byte*)w1 + rowBytes), w3 = (float*)((byte*)w2 + rowBytes);
        Vector512<float> p0 = default, p1 = default, p2 = default, p3 = default;
        Vector512<float> q0 = default, q1 = default, q2 = default, q3 = default;
        Vector512<float> u0 = default, u1 = default, u2 = default, u3 = default;
        Vector512<float> v0 = default, v1 = default, v2 = default, v3 = default;
        for (int i = 0; i < np; i += Step)
        {
            var a0 = Vector512.Load(a + i);
            var a1 = Vector512.Load(a + i + 16);
            var a2 = Vector512.Load(a + i + 32);
            var a3 = Vector512.Load(a + i + 48);
            p0 = Avx512F.FusedMultiplyAdd(Vector512.Load(w0 + i), a0, p0);
            p1 = Avx512F.FusedMultiplyAdd(Vector512.Load(w0 + i + 16), a1, p1);
            p2 = Avx512F.FusedMultiplyAdd(Vector512.Load(w0 + i + 32), a2, p2);
            p3 = Avx512F.FusedMultiplyAdd(Vector512.Load(w0 + i + 48), a3, p3);
            q0 = Avx512F.FusedMultiplyAdd(Vector512.Load(w1 + i), a0, q0);
            q1 = Avx512F.FusedMultiplyAdd(Vector512.Load(w1 + i + 16), a1, q1);
            q2 = Avx512F.FusedMultiplyAdd(Vector512.Load(w1 + i + 32), a2, q2);
            q3 = Avx512F.FusedMultiplyAdd(Vector512.Load(w1 + i + 48), a3, q3);
            u0 = Avx512F.FusedMultiplyAdd(Vector512.Load(w2 + i), a0, u0);
            u1 = Avx512F.FusedMultiplyAdd(Vector512.Load(w2 + i + 16), a1, u1);
            u2 = Avx512F.FusedMultiplyAdd(Vector512.Load(w2 + i + 32), a2, u2);
            u3 = Avx512F.FusedMultiplyAdd(Vector512.Load(w2 + i + 48), a3, u3);
            v0 = Avx512F.FusedMultiplyAdd(Vector512.Load(w3 + i), a0, v0);
            v1 = Avx512F.FusedMultiplyAdd(Vector512.Load(w3 + i + 16), a1, v1);
            v2 = Avx512F.FusedMultiplyAdd(Vector512.Load(w3 + i + 32), a2, v2);
            v3 = Avx512F.FusedMultiplyAdd(Vector512.Load(w3 + i + 48), a3, v3);
        }
        var p = (p0 + p2) + (p1 + p3);
        var q = (q0 + q2) + (q1 + q3);
        var u = (u0 + u2) + (u1 + u3);
        var v = (v0 + v2) + (v1 + v3);
        sums[0] = GgmlFloatOrder.ReduceLanes(p.GetLower(), p.GetUpper());
        sums[1] = GgmlFloatOrder.ReduceLanes(q.GetLower(), q.GetUpper());
        sums[2] = GgmlFloatOrder.ReduceLanes(u.GetLower(), u.GetUpper());
        sums[3] = GgmlFloatOrder.ReduceLanes(v.GetLower(), v.GetUpper());
    }
}
