using System.Runtime.InteropServices;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// ggml-cpu's repacked Q2_K path (q2_K_8x8_q8_K, used by llama.cpp's CPU_REPACK buffers), through P/Invoke on the same
/// libggml-cpu.so as <see cref="GgmlOracle"/>:
///   repack&lt;block_q2_K,8,8&gt;(ggml_tensor*, data, size)   plain rows → block_q2_Kx8 (groups of 8 rows)
///   ggml_quantize_mat_t&lt;8,Q8_K&gt;(x, vy, 4, n)          4 float rows → block_q8_Kx4 (= ggml_quantize_mat_q8_K_4x8)
///   ggml_gemv_q2_K_8x8_q8_K(n, s, bs, vx, vy, nr, nc)    one plain Q8_K row × nc repacked rows
///   ggml_gemm_q2_K_8x8_q8_K(n, s, bs, vx, vy, nr, nc)    nr (multiple of 4) Q8_Kx4 rows × nc repacked rows, s[r·bs + c]
/// Layouts (ggml's repack.h): block_q2_Kx8 = fp16 d[8], fp16 dmin[8], u8 scales[128], u8 qs[512] (672 B = 8 × 84);
/// block_q8_Kx4 = f32 d[4], i8 qs[1024], i16 bsums[64] (1168 B = 4 × 292).
/// </summary>
internal static unsafe class Q2KRepackOracle
{
    public const int Q2KBlockBytes = 84, Q8KBlockBytes = 292, Q2Kx8Bytes = 672, Q8Kx4Bytes = 1168;

    private static readonly Lazy<Fns> Lib = new(Fns.Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Repacks rows×n plain Q2_K (rows a multiple of 8) with ggml's own repack function.</summary>
    public static byte[] RepackGgml(ReadOnlySpan<byte> plain, int rows, int n)
    {
        CheckWeights(plain.Length, rows, n);
        var result = new byte[plain.Length];
        // A zeroed stand-in ggml_tensor: type at 0, ne[4] at 0x10, data at 0xF8 (offsets read from the disassembly).
        var tensor = new byte[512];
        fixed (byte* t = tensor)
        fixed (byte* src = plain)
        fixed (byte* dst = result)
        {
            *(int*)t = 10; // GGML_TYPE_Q2_K
            long* ne = (long*)(t + 0x10);
            ne[0] = n; ne[1] = rows; ne[2] = 1; ne[3] = 1;
            *(byte**)(t + 0xF8) = dst;
            int rc = Lib.Value.Repack(t, src, (nuint)plain.Length);
            if (rc != 0) throw new InvalidOperationException($"ggml's Q2_K repack refused the tensor (rc {rc})");
        }
        return result;
    }

    /// <summary>The same repack written from the layout facts (make_block_q2_Kx8): per group of 8 rows and per block,
    /// d[8], dmin[8], then scales[i] = row((i%16)/2).scales[(i/16)·2 + i%2], then qs in 8-byte chunks, chunk i from
    /// row i%8 at byte offset (i/8)·8.</summary>
    public static byte[] Repack(ReadOnlySpan<byte> plain, int rows, int n)
    {
        CheckWeights(plain.Length, rows, n);
        int nb = n / 256;
        var result = new byte[plain.Length];
        int o = 0;
        for (int g = 0; g < rows; g += 8)
            for (int b = 0; b < nb; b++, o += Q2Kx8Bytes)
            {
                int Block(int r) => ((g + r) * nb + b) * Q2KBlockBytes;
                for (int r = 0; r < 8; r++)
                {
                    plain.Slice(Block(r) + 80, 2).CopyTo(result.AsSpan(o + 2 * r));
                    plain.Slice(Block(r) + 82, 2).CopyTo(result.AsSpan(o + 16 + 2 * r));
                }
                for (int i = 0; i < 128; i++)
                    result[o + 32 + i] = plain[Block(i % 16 / 2) + (i / 16) * 2 + i % 2];
                for (int i = 0; i < 64; i++)
                    plain.Slice(Block(i % 8) + 16 + (i / 8) * 8, 8).CopyTo(result.AsSpan(o + 160 + 8 * i));
            }
        return result;
    }

    /// <summary>ggml_quantize_mat_t&lt;8, Q8_K&gt; on 4 rows of n floats (row-major) → block_q8_Kx4 bytes.</summary>
    public static byte[] QuantizeMat4(ReadOnlySpan<float> x4, int n)
    {
        if (n % 256 != 0 || x4.Length != 4 * n) throw new ArgumentException("need 4 rows of a multiple of 256 floats");
        var result = new byte[n / 256 * Q8Kx4Bytes];
        fixed (float* src = x4)
        fixed (byte* dst = result)
            Lib.Value.QuantizeMat(src, dst, 4, n);
        return result;
    }

    /// <summary>Splits block_q8_Kx4 bytes into 4 plain Q8_K rows (d; qs[256]; bsums[16]):
    /// qs[32j + 8r + e] is row r element 8j + e; bsums[16(g/4) + 4r + g%4] is row r's bsum g.</summary>
    public static byte[][] Deinterleave(ReadOnlySpan<byte> x4, int n)
    {
        int nb = n / 256;
        var rows = new byte[4][];
        for (int r = 0; r < 4; r++) rows[r] = new byte[nb * Q8KBlockBytes];
        for (int b = 0; b < nb; b++)
        {
            var src = x4.Slice(b * Q8Kx4Bytes, Q8Kx4Bytes);
            for (int r = 0; r < 4; r++)
            {
                var dst = rows[r].AsSpan(b * Q8KBlockBytes, Q8KBlockBytes);
                src.Slice(4 * r, 4).CopyTo(dst);
                for (int j = 0; j < 32; j++) src.Slice(16 + 32 * j + 8 * r, 8).CopyTo(dst[(4 + 8 * j)..]);
                for (int g = 0; g < 16; g++) src.Slice(16 + 1024 + 2 * (16 * (g / 4) + 4 * r + g % 4), 2).CopyTo(dst[(260 + 2 * g)..]);
            }
        }
        return rows;
    }

    /// <summary>ggml_gemv_q2_K_8x8_q8_K: one plain Q8_K row against nc repacked rows → nc floats.</summary>
    public static float[] Gemv(ReadOnlySpan<byte> repacked, ReadOnlySpan<byte> q8kRow, int n, int nc)
    {
        CheckWeights(repacked.Length, nc, n);
        if (q8kRow.Length != n / 256 * Q8KBlockBytes) throw new ArgumentException("activation row length");
        var s = new float[nc];
        fixed (byte* w = repacked)
        fixed (byte* a = q8kRow)
        fixed (float* ps = s)
            Lib.Value.Gemv(n, ps, (nuint)nc, w, a, 1, nc);
        return s;
    }

    /// <summary>ggml_gemm_q2_K_8x8_q8_K: nr activation rows (block_q8_Kx4 groups, nr a multiple of 4) against nc repacked
    /// rows → s[token·nc + row].</summary>
    public static float[] Gemm(ReadOnlySpan<byte> repacked, ReadOnlySpan<byte> q8kx4, int n, int nr, int nc)
    {
        CheckWeights(repacked.Length, nc, n);
        if (nr % 4 != 0 || q8kx4.Length != nr / 4 * (n / 256) * Q8Kx4Bytes) throw new ArgumentException("activation groups length");
        var s = new float[nr * nc];
        fixed (byte* w = repacked)
        fixed (byte* a = q8kx4)
        fixed (float* ps = s)
            Lib.Value.Gemm(n, ps, (nuint)nc, w, a, nr, nc);
        return s;
    }

    private static void CheckWeights(int bytes, int rows, int n)
    {
        if (n % 256 != 0 || rows % 8 != 0 || bytes != rows * (n / 256) * Q2KBlockBytes)
            throw new ArgumentException($"need rows (multiple of 8) × n (multiple of 256) Q2_K: {bytes} B for {rows}×{n}");
    }

    private sealed class Fns
    {
        public required delegate* unmanaged<void*, void*, nuint, int> Repack { get; init; }
        public required delegate* unmanaged<float*, void*, long, long, void> QuantizeMat { get; init; }
        public required delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void> Gemv { get; init; }
        public required delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void> Gemm { get; init; }

        public static Fns Load()
        {
            // Loading through GgmlOracle first runs ggml_cpu_init; the second Load returns the same handle.
            var lib = NativeLibrary.Load(Path.Combine(GgmlOracle.LibraryDirectory, "libggml-cpu.so"));
            nint Get(string name) => NativeLibrary.TryGetExport(lib, name, out var fn) ? fn : throw new NotSupportedException($"libggml-cpu.so does not export {name}");
            return new Fns
            {
                Repack = (delegate* unmanaged<void*, void*, nuint, int>)Get("_ZN4ggml3cpu6repack6repackI10block_q2_KLl8ELl8EEEiP11ggml_tensorPKvm"),
                QuantizeMat = (delegate* unmanaged<float*, void*, long, long, void>)Get("_Z19ggml_quantize_mat_tILl8EL9ggml_type15EEvPKfPvll"),
                Gemv = (delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void>)Get("ggml_gemv_q2_K_8x8_q8_K"),
                Gemm = (delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void>)Get("ggml_gemm_q2_K_8x8_q8_K"),
            };
        }
    }
}
