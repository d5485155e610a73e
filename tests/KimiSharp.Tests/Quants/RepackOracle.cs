using System.Runtime.InteropServices;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// ggml-cpu's repacked Q4_K path ("q4_K_8x8_q8_K"), called through P/Invoke from the same native libraries as
/// <see cref="GgmlOracle"/>: the weight repack into block_q4_Kx8, the 4-row activation quantizer
/// ggml_quantize_mat_t&lt;8, Q8_K&gt; (block_q8_Kx4) and the kernels ggml_gemv_q4_K_8x8_q8_K / ggml_gemm_q4_K_8x8_q8_K.
/// Layouts (ggml-cpu repack.h):
///   block_q4_Kx8 { fp16 d[8]; fp16 dmin[8]; u8 scales[96]; u8 qs[1024]; }   1152 B: super-block b of 8 consecutive rows
///   block_q8_Kx4 { f32 d[4]; i8 qs[1024]; i16 bsums[64]; }                   1168 B: super-block b of 4 consecutive rows
/// </summary>
public static unsafe class RepackOracle
{
    public const int Q4KBlockBytes = 144;
    public const int Q4Kx8BlockBytes = 1152;
    public const int Q8KBlockBytes = 292;
    public const int Q8Kx4BlockBytes = 1168;
    private const int GgmlTypeQ4K = 12;

    private static readonly Lazy<Native> Lib = new(Native.Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>ggml's own repack&lt;block_q4_K, 8, 8&gt;: <paramref name="rows"/> plain Q4_K rows of n elements (rows % 8 == 0) → block_q4_Kx8 groups.</summary>
    public static byte[] Repack(ReadOnlySpan<byte> plain, int rows, int n)
    {
        if (rows % 8 != 0 || n % 256 != 0 || plain.Length != rows * (n / 256) * Q4KBlockBytes)
            throw new ArgumentException("rows must be a multiple of 8, n of 256, and plain exactly rows × n/256 Q4_K blocks");
        var lib = Lib.Value;
        nuint size = (nuint)plain.Length;
        var init = new InitParams { mem_size = lib.TensorOverhead() + size + 4096, mem_buffer = null, no_alloc = 0 };
        void* ctx = lib.Init(init);
        if (ctx == null)
            throw new InvalidOperationException("ggml_init failed");
        try
        {
            void* tensor = lib.NewTensor2d(ctx, GgmlTypeQ4K, n, rows);
            byte* data = (byte*)lib.GetData(tensor);
            int rc;
            fixed (byte* src = plain)
                rc = lib.RepackQ4K(tensor, src, size);
            if (rc != 0)
                throw new InvalidOperationException($"ggml's repack<block_q4_K, 8, 8> returned {rc}");
            return new ReadOnlySpan<byte>(data, plain.Length).ToArray();
        }
        finally
        {
            lib.Free(ctx);
        }
    }

    /// <summary>ggml_quantize_mat_t&lt;8, Q8_K&gt;: 4 consecutive float rows of n → n/256 block_q8_Kx4 (what forward_mul_mat feeds gemm).</summary>
    public static byte[] QuantizeMat4(ReadOnlySpan<float> fourRows, int n)
    {
        if (n % 256 != 0 || fourRows.Length != 4 * n)
            throw new ArgumentException("need exactly 4 rows of n floats, n a multiple of 256");
        var result = new byte[n / 256 * Q8Kx4BlockBytes];
        fixed (float* x = fourRows)
        fixed (byte* y = result)
            Lib.Value.QuantizeMat(x, y, 4, n);
        return result;
    }

    /// <summary>
    /// ggml_gemv_q4_K_8x8_q8_K: one Q8_K activation row (plain layout) times nc repacked rows (nc % 8 == 0) → nc floats.
    /// </summary>
    public static float[] Gemv(ReadOnlySpan<byte> repacked, ReadOnlySpan<byte> q8kRow, int n, int nc)
    {
        Check(repacked.Length, nc, n);
        if (q8kRow.Length != n / 256 * Q8KBlockBytes)
            throw new ArgumentException("q8kRow must be n/256 Q8_K blocks");
        var s = new float[nc];
        fixed (byte* vx = repacked)
        fixed (byte* vy = q8kRow)
        fixed (float* ps = s)
            Lib.Value.Gemv(n, ps, (nuint)nc, vx, vy, 1, nc);
        return s;
    }

    /// <summary>
    /// ggml_gemm_q4_K_8x8_q8_K: nr activation rows (nr % 4 == 0) as nr/4 consecutive groups of block_q8_Kx4 rows
    /// (each group n/256 blocks, as <see cref="QuantizeMat4"/> gives) times nc repacked rows → s[token · nc + row].
    /// </summary>
    public static float[] Gemm(ReadOnlySpan<byte> repacked, ReadOnlySpan<byte> q8kx4Groups, int n, int nr, int nc)
    {
        Check(repacked.Length, nc, n);
        if (nr % 4 != 0 || q8kx4Groups.Length != nr / 4 * (n / 256) * Q8Kx4BlockBytes)
            throw new ArgumentException("nr must be a multiple of 4 and q8kx4Groups exactly nr/4 × n/256 block_q8_Kx4");
        var s = new float[nr * nc];
        fixed (byte* vx = repacked)
        fixed (byte* vy = q8kx4Groups)
        fixed (float* ps = s)
            Lib.Value.Gemm(n, ps, (nuint)nc, vx, vy, nr, nc);
        return s;
    }

    /// <summary>
    /// Splits block_q8_Kx4 groups back into 4 plain Q8_K rows: qs chunk j of 32 bytes holds 8 values of each row
    /// (row r: bytes 8r..8r+7 = elements 8j..8j+7); bsums are recomputed from qs (exact 16-value sums).
    /// </summary>
    public static byte[][] Deinterleave4(ReadOnlySpan<byte> q8kx4, int n)
    {
        int blocks = n / 256;
        var rows = new byte[4][];
        for (int r = 0; r < 4; r++)
        {
            rows[r] = new byte[blocks * Q8KBlockBytes];
            for (int b = 0; b < blocks; b++)
            {
                var src = q8kx4.Slice(b * Q8Kx4BlockBytes, Q8Kx4BlockBytes);
                var dst = rows[r].AsSpan(b * Q8KBlockBytes, Q8KBlockBytes);
                src.Slice(4 * r, 4).CopyTo(dst);
                for (int j = 0; j < 32; j++)
                    src.Slice(16 + 32 * j + 8 * r, 8).CopyTo(dst.Slice(4 + 8 * j, 8));
                for (int g = 0; g < 16; g++)
                {
                    int sum = 0;
                    for (int i = 0; i < 16; i++) sum += (sbyte)dst[4 + 16 * g + i];
                    BitConverter.TryWriteBytes(dst.Slice(260 + 2 * g, 2), (short)sum);
                }
            }
        }
        return rows;
    }

    /// <summary>
    /// Our own repack from the layout (ggml repack.cpp make_block_q4_Kx8, interleave 8): for super-block b of rows
    /// 8g..8g+7: d[i], dmin[i] of row i; qs byte chunk c (8 bytes) = row c % 8's qs[8·(c/8) ..]; scales: 12 bytes per
    /// sub-block j (j = 0..7), holding the 6-bit scales s[0..7] and mins m[0..7] of the 8 rows packed like one Q4_K
    /// scale field (bytes 0-3: s0-3 low 6 bits + s4-7 bits 4-5 on top; 4-7 the same for mins; 8-11: s4-7 low nibble,
    /// m4-7 low nibble on top).
    /// </summary>
    public static byte[] RepackManaged(byte[] plain, int rows, int n)
    {
        int blocks = n / 256;
        var result = new byte[rows / 8 * blocks * Q4Kx8BlockBytes];
        var s = new int[8];
        var m = new int[8];
        for (int g = 0; g < rows / 8; g++)
            for (int b = 0; b < blocks; b++)
            {
                var dst = result.AsSpan((g * blocks + b) * Q4Kx8BlockBytes, Q4Kx8BlockBytes);
                ReadOnlySpan<byte> Row(int i) => plain.AsSpan(((8 * g + i) * blocks + b) * Q4KBlockBytes, Q4KBlockBytes);
                for (int i = 0; i < 8; i++)
                {
                    Row(i).Slice(0, 2).CopyTo(dst.Slice(2 * i, 2));
                    Row(i).Slice(2, 2).CopyTo(dst.Slice(16 + 2 * i, 2));
                }
                for (int c = 0; c < 128; c++)
                    Row(c % 8).Slice(16 + 8 * (c / 8), 8).CopyTo(dst.Slice(128 + 8 * c, 8));
                for (int j = 0; j < 8; j++)
                {
                    for (int i = 0; i < 8; i++)
                    {
                        var sc = Row(i).Slice(4, 12);
                        (s[i], m[i]) = j < 4
                            ? (sc[j] & 63, sc[j + 4] & 63)
                            : ((sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4), (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4));
                    }
                    var o = dst.Slice(32 + 12 * j, 12);
                    for (int i = 0; i < 4; i++)
                    {
                        o[i] = (byte)((s[i] & 63) | ((s[i + 4] & 48) << 2));
                        o[i + 4] = (byte)((m[i] & 63) | ((m[i + 4] & 48) << 2));
                        o[i + 8] = (byte)((s[i + 4] & 15) | ((m[i + 4] & 15) << 4));
                    }
                }
            }
        return result;
    }

    private static void Check(int repackedBytes, int nc, int n)
    {
        if (nc % 8 != 0 || n % 256 != 0 || repackedBytes != nc / 8 * (n / 256) * Q4Kx8BlockBytes)
            throw new ArgumentException("nc must be a multiple of 8 and repacked exactly nc/8 × n/256 block_q4_Kx8");
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct InitParams
    {
        public nuint mem_size;
        public void* mem_buffer;
        public byte no_alloc;
    }

    private sealed class Native
    {
        public required delegate* unmanaged<InitParams, void*> Init { get; init; }
        public required delegate* unmanaged<void*, void> Free { get; init; }
        public required delegate* unmanaged<nuint> TensorOverhead { get; init; }
        public required delegate* unmanaged<void*, int, long, long, void*> NewTensor2d { get; init; }
        public required delegate* unmanaged<void*, void*> GetData { get; init; }
        public required delegate* unmanaged<void*, void*, nuint, int> RepackQ4K { get; init; }
        public required delegate* unmanaged<float*, void*, long, long, void> QuantizeMat { get; init; }
        public required delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void> Gemv { get; init; }
        public required delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void> Gemm { get; init; }

        public static Native Load()
        {
            string dir = GgmlOracle.LibraryDirectory; // also runs ggml_cpu_init
            var baseLib = NativeLibrary.Load(Path.Combine(dir, "libggml-base.so"));
            var cpuLib = NativeLibrary.Load(Path.Combine(dir, "libggml-cpu.so"));
            return new Native
            {
                Init = (delegate* unmanaged<InitParams, void*>)NativeLibrary.GetExport(baseLib, "ggml_init"),
                Free = (delegate* unmanaged<void*, void>)NativeLibrary.GetExport(baseLib, "ggml_free"),
                TensorOverhead = (delegate* unmanaged<nuint>)NativeLibrary.GetExport(baseLib, "ggml_tensor_overhead"),
                NewTensor2d = (delegate* unmanaged<void*, int, long, long, void*>)NativeLibrary.GetExport(baseLib, "ggml_new_tensor_2d"),
                GetData = (delegate* unmanaged<void*, void*>)NativeLibrary.GetExport(baseLib, "ggml_get_data"),
                // int ggml::cpu::repack::repack<block_q4_K, 8, 8>(ggml_tensor*, const void*, size_t)
                RepackQ4K = (delegate* unmanaged<void*, void*, nuint, int>)NativeLibrary.GetExport(cpuLib, "_ZN4ggml3cpu6repack6repackI10block_q4_KLl8ELl8EEEiP11ggml_tensorPKvm"),
                // void ggml_quantize_mat_t<8, GGML_TYPE_Q8_K>(const float*, void*, int64_t nrow, int64_t n_per_row)
                QuantizeMat = (delegate* unmanaged<float*, void*, long, long, void>)NativeLibrary.GetExport(cpuLib, "_Z19ggml_quantize_mat_tILl8EL9ggml_type15EEvPKfPvll"),
                Gemv = (delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void>)NativeLibrary.GetExport(cpuLib, "ggml_gemv_q4_K_8x8_q8_K"),
                Gemm = (delegate* unmanaged<int, float*, nuint, void*, void*, int, int, void>)NativeLibrary.GetExport(cpuLib, "ggml_gemm_q4_K_8x8_q8_K"),
            };
        }
    }
}
