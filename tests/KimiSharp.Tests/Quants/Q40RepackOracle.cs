using System.Runtime.InteropServices;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// ggml-cpu's repacked Q4_0 / IQ4_NL mat-mul (q4_0_8x8_q8_0, iq4_nl_8x8_q8_0), called through P/Invoke on the same
/// libggml-cpu.so as <see cref="GgmlOracle"/>: the exported template instances forward_mul_mat calls,
/// ggml::cpu::repack::gemv / gemm&lt;block, 8, 8, Q8_0&gt;, ggml_quantize_mat_t&lt;8, Q8_0&gt; and repack&lt;block, 8, 8&gt;.
/// Layouts (facts from ggml's repack.cpp): a block_x8 is 8 fp16 scales (one per row of an 8-row group) then 128 quant
/// bytes, chunk i (8 bytes) = bytes 8·(i/8) .. +7 of row (i % 8)'s block; Q4_0 chunks are xor'ed with 0x88 (nibbles
/// become signed). A block_q8_0x4 is 4 fp16 scales then 128 bytes, chunk i = bytes 8·(i/4) .. +7 of token (i % 4).
/// </summary>
public static unsafe class Q40RepackOracle
{
    private const int BlockBytes = 18, Q8Bytes = 34;

    private sealed class Native
    {
        public required delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void> GemvQ40, GemmQ40, GemvIq4Nl, GemmIq4Nl;
        public required delegate* unmanaged<float*, void*, long, long, void> QuantizeMat;
        public required delegate* unmanaged<void*, void*, nuint, int> RepackQ40, RepackIq4Nl;
    }

    private static readonly Lazy<Native> Lib = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private static Native Load()
    {
        _ = GgmlOracle.VecDotType(GgmlType.Q4_0); // loads both libraries and runs ggml_cpu_init
        nint lib = NativeLibrary.Load(Path.Combine(GgmlOracle.LibraryDirectory, "libggml-cpu.so"));
        nint Get(string name) => NativeLibrary.GetExport(lib, name);
        return new Native
        {
            GemvQ40 = (delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void>)Get("_ZN4ggml3cpu6repack4gemvI10block_q4_0Ll8ELl8EL9ggml_type8EEEviPfmPKvS7_ii"),
            GemmQ40 = (delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void>)Get("_ZN4ggml3cpu6repack4gemmI10block_q4_0Ll8ELl8EL9ggml_type8EEEviPfmPKvS7_ii"),
            GemvIq4Nl = (delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void>)Get("_ZN4ggml3cpu6repack4gemvI12block_iq4_nlLl8ELl8EL9ggml_type8EEEviPfmPKvS7_ii"),
            GemmIq4Nl = (delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void>)Get("_ZN4ggml3cpu6repack4gemmI12block_iq4_nlLl8ELl8EL9ggml_type8EEEviPfmPKvS7_ii"),
            QuantizeMat = (delegate* unmanaged<float*, void*, long, long, void>)Get("_Z19ggml_quantize_mat_tILl8EL9ggml_type8EEvPKfPvll"),
            RepackQ40 = (delegate* unmanaged<void*, void*, nuint, int>)Get("_ZN4ggml3cpu6repack6repackI10block_q4_0Ll8ELl8EEEiP11ggml_tensorPKvm"),
            RepackIq4Nl = (delegate* unmanaged<void*, void*, nuint, int>)Get("_ZN4ggml3cpu6repack6repackI12block_iq4_nlLl8ELl8EEEiP11ggml_tensorPKvm"),
        };
    }

    private static void CheckType(GgmlType type)
    {
        if (type is not (GgmlType.Q4_0 or GgmlType.IQ4_NL))
            throw new ArgumentException($"{type} has no 8x8 repack here", nameof(type));
    }

    /// <summary>Our repack of <paramref name="rows"/> plain rows (a multiple of 8) of n elements into block_x8 groups.</summary>
    public static byte[] Repack(GgmlType type, ReadOnlySpan<byte> plain, int rows, int n)
    {
        CheckType(type);
        int nb = n / 32;
        if (rows % 8 != 0 || plain.Length != rows * nb * BlockBytes)
            throw new ArgumentException("rows must be a multiple of 8 and plain must hold rows × n/32 blocks");
        byte xor = type == GgmlType.Q4_0 ? (byte)0x88 : (byte)0;
        var dst = new byte[plain.Length];
        int o = 0;
        for (int g = 0; g < rows; g += 8)
            for (int b = 0; b < nb; b++)
            {
                for (int r = 0; r < 8; r++)
                    plain.Slice(((g + r) * nb + b) * BlockBytes, 2).CopyTo(dst.AsSpan(o + 2 * r));
                for (int i = 0; i < 16; i++)
                {
                    var src = plain.Slice(((g + i % 8) * nb + b) * BlockBytes + 2 + 8 * (i / 8), 8);
                    for (int k = 0; k < 8; k++)
                        dst[o + 16 + 8 * i + k] = (byte)(src[k] ^ xor);
                }
                o += 8 * BlockBytes;
            }
        return dst;
    }

    /// <summary>ggml's own repack (ggml::cpu::repack::repack&lt;block, 8, 8&gt;) through a minimal ggml_tensor.</summary>
    public static byte[] RepackByGgml(GgmlType type, ReadOnlySpan<byte> plain, int rows, int n)
    {
        CheckType(type);
        // ggml_tensor (ggml 0.18.0, read off the disassembly): type @0 (i32), ne[4] @16 (i64), data @248; 512 bytes covers it
        var tensor = new byte[512];
        var dst = new byte[plain.Length];
        fixed (byte* t = tensor)
        fixed (byte* d = dst)
        fixed (byte* src = plain)
        {
            *(int*)t = (int)type;
            long* ne = (long*)(t + 16);
            ne[0] = n; ne[1] = rows; ne[2] = 1; ne[3] = 1;
            *(byte**)(t + 248) = d;
            var fn = type == GgmlType.Q4_0 ? Lib.Value.RepackQ40 : Lib.Value.RepackIq4Nl;
            int rc = fn(t, src, (nuint)plain.Length);
            if (rc != 0)
                throw new InvalidOperationException($"ggml declined to repack {type} {rows}×{n} (returned {rc})");
        }
        return dst;
    }

    /// <summary>ggml_quantize_mat_t&lt;8, Q8_0&gt;: 4 rows of n floats (row-major) into n/32 block_q8_0x4.</summary>
    public static byte[] QuantizeMat4(ReadOnlySpan<float> x4, int n)
    {
        if (x4.Length != 4 * n || n % 32 != 0)
            throw new ArgumentException("need 4 rows of n floats, n a multiple of 32");
        var dst = new byte[4 * (n / 32) * Q8Bytes];
        fixed (float* x = x4)
        fixed (byte* d = dst)
            Lib.Value.QuantizeMat(x, d, 4, n);
        return dst;
    }

    /// <summary>Splits one block_q8_0x4 group row (n/32 blocks) back into 4 plain Q8_0 rows (row t at t·(n/32)·34).</summary>
    public static byte[] Deinterleave4(ReadOnlySpan<byte> q8x4, int n)
    {
        int nb = n / 32;
        var dst = new byte[4 * nb * Q8Bytes];
        for (int b = 0; b < nb; b++)
        {
            var blk = q8x4.Slice(b * 4 * Q8Bytes, 4 * Q8Bytes);
            for (int t = 0; t < 4; t++)
            {
                int o = (t * nb + b) * Q8Bytes;
                blk.Slice(2 * t, 2).CopyTo(dst.AsSpan(o));
                for (int c = 0; c < 4; c++)
                    blk.Slice(8 + 32 * c + 8 * t, 8).CopyTo(dst.AsSpan(o + 2 + 8 * c));
            }
        }
        return dst;
    }

    /// <summary>ggml's gemv: out[r] for all rows (a multiple of 8) against one plain Q8_0 activation row.</summary>
    public static float[] Gemv(GgmlType type, byte[] repacked, ReadOnlySpan<byte> q8Row, int rows, int n)
    {
        CheckType(type);
        var s = new float[rows];
        var fn = type == GgmlType.Q4_0 ? Lib.Value.GemvQ40 : Lib.Value.GemvIq4Nl;
        fixed (byte* w = repacked)
        fixed (byte* a = q8Row)
        fixed (float* ps = s)
            fn(n, ps, (nuint)rows, w, a, 1, rows);
        return s;
    }

    /// <summary>ggml's gemm: out[t·rows + r] for tokens (a multiple of 4) given as consecutive block_q8_0x4 groups.</summary>
    public static float[] Gemm(GgmlType type, byte[] repacked, ReadOnlySpan<byte> q8x4, int rows, int tokens, int n)
    {
        CheckType(type);
        if (tokens % 4 != 0 || q8x4.Length != tokens * (n / 32) * Q8Bytes)
            throw new ArgumentException("gemm takes whole groups of 4 tokens");
        var s = new float[rows * tokens];
        var fn = type == GgmlType.Q4_0 ? Lib.Value.GemmQ40 : Lib.Value.GemmIq4Nl;
        fixed (byte* w = repacked)
        fixed (byte* a = q8x4)
        fixed (float* ps = s)
            fn(n, ps, (nuint)rows, w, a, tokens, rows);
        return s;
    }

    /// <summary>
    /// forward_mul_mat on one thread: tokens in whole groups of 4 are quantized by quantize_mat and go through gemm, the
    /// last tokens % 4 are quantized by quantize_row_q8_0 (ggml's from_float) and go through gemv. out[t·rows + r].
    /// </summary>
    public static float[] MulMat(GgmlType type, ReadOnlySpan<byte> plain, ReadOnlySpan<float> x, int rows, int tokens, int n)
    {
        var repacked = RepackByGgml(type, plain, rows, n);
        int grouped = tokens - tokens % 4, rowBytes = n / 32 * Q8Bytes;
        var result = new float[rows * tokens];
        if (grouped > 0)
        {
            var q = new byte[grouped * rowBytes];
            for (int t = 0; t < grouped; t += 4)
                QuantizeMat4(x.Slice(t * n, 4 * n), n).CopyTo(q.AsSpan(t * rowBytes));
            Gemm(type, repacked, q, rows, grouped, n).CopyTo(result, 0);
        }
        for (int t = grouped; t < tokens; t++)
            Gemv(type, repacked, GgmlOracle.QuantizeCpu(GgmlType.Q8_0, x.Slice(t * n, n)), rows, n).CopyTo(result, t * rows);
        return result;
    }
}
