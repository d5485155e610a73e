using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Quants;

/// <summary>
/// ggml itself, called through P/Invoke: the native libggml-base.so / libggml-cpu.so shipped in the
/// LLamaSharp.Backend.Cpu 0.30.0 package (ggml 0.18.0). Reads the per-type trait tables:
///   ggml.h      struct ggml_type_traits     { const char* type_name; int64 blck_size; int64 blck_size_interleave;
///                                              size_t type_size; bool is_quantized; to_float; from_float_ref; }
///   ggml-cpu.h  struct ggml_type_traits_cpu { from_float; vec_dot; enum ggml_type vec_dot_type; int64 nrows; }
/// The layouts are verified at load against <see cref="GgmlTypes"/> (name, block size, type size).
/// </summary>
public static unsafe class GgmlOracle
{
    private static readonly Lazy<Native> Lib = new(Native.Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The folder the native libraries were loaded from (avx512 / avx2 / avx / noavx variant).</summary>
    public static string LibraryDirectory => Lib.Value.Directory;

    /// <summary>
    /// Whether the library loaded here is the build whose float order our exact kernels reproduce on this CPU
    /// (<see cref="GgmlCpuVariant"/>: the avx512 build where LLamaSharp loads that, else the avx2 build on AVX2 hosts).
    /// </summary>
    public static bool IsReproducedBuild =>
        (GgmlCpuVariant.Avx2 || GgmlCpuVariant.Avx512Build) && LibraryDirectory.EndsWith(GgmlCpuVariant.Avx2 ? "avx2" : "avx512", StringComparison.Ordinal);

    /// <summary>ggml's to_float for <paramref name="type"/> over n elements.</summary>
    public static float[] Dequantize(GgmlType type, ReadOnlySpan<byte> bytes, int n)
    {
        QuantCodecs.CheckLengths(type, bytes.Length, n);
        var result = new float[n];
        if (type == GgmlType.F32)
        {
            bytes.CopyTo(MemoryMarshal.AsBytes(result.AsSpan())); // ggml has no to_float for F32: it is the identity
            return result;
        }
        var fn = Lib.Value.Traits(type)->to_float;
        if (fn == null)
            fn = Lib.Value.ExportedDequantizer(type); // e.g. Q8_K: exported as dequantize_row_q8_K
        fixed (byte* src = bytes)
        fixed (float* dst = result)
            fn(src, dst, n);
        return result;
    }

    /// <summary>ggml's from_float_ref (the reference quantizer of ggml-base) for <paramref name="type"/>.</summary>
    public static byte[] QuantizeReference(GgmlType type, ReadOnlySpan<float> x)
    {
        var fn = Lib.Value.Traits(type)->from_float_ref;
        if (fn == null)
            fn = Lib.Value.ExportedReferenceQuantizer(type); // e.g. Q8_K: not in the traits, exported as quantize_row_q8_K_ref
        var result = new byte[checked((int)GgmlTypes.Get(type).RowBytes(x.Length))];
        fixed (float* src = x)
        fixed (byte* dst = result)
            fn(src, dst, x.Length);
        return result;
    }

    /// <summary>ggml-cpu's from_float (the SIMD quantizer used for mat-mul activations) for <paramref name="type"/>.</summary>
    public static byte[] QuantizeCpu(GgmlType type, ReadOnlySpan<float> x)
    {
        var traits = Lib.Value.CpuTraits(type);
        if (traits->from_float == null)
            throw new NotSupportedException($"ggml-cpu has no from_float for {type}");
        var result = new byte[checked((int)GgmlTypes.Get(type).RowBytes(x.Length))];
        fixed (float* src = x)
        fixed (byte* dst = result)
            traits->from_float(src, dst, x.Length);
        return result;
    }

    /// <summary>The activation type ggml-cpu pairs with <paramref name="weightType"/> in vec_dot.</summary>
    public static GgmlType VecDotType(GgmlType weightType) => (GgmlType)Lib.Value.CpuTraits(weightType)->vec_dot_type;

    /// <summary>ggml-cpu's vec_dot: Σ w·a over n elements, w in weightType, a in <see cref="VecDotType"/>.</summary>
    public static float VecDot(GgmlType weightType, ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n)
    {
        QuantCodecs.CheckLengths(weightType, w.Length, n);
        QuantCodecs.CheckLengths(VecDotType(weightType), a.Length, n);
        fixed (byte* pw = w)
        fixed (byte* pa = a)
            return VecDot(weightType, pw, pa, n);
    }

    /// <summary>Unchecked vec_dot over raw pointers (for benchmarks).</summary>
    public static float VecDot(GgmlType weightType, byte* w, byte* a, int n)
    {
        float s;
        VecDotFunction(weightType)(n, &s, 0, w, 0, a, 0, 1);
        return s;
    }

    /// <summary>The raw vec_dot function pointer: (n, float* s, size_t bs, const void* x, size_t bx, const void* y, size_t by, int nrc).</summary>
    public static delegate* unmanaged<int, float*, nuint, void*, nuint, void*, nuint, int, void> VecDotFunction(GgmlType weightType)
    {
        var fn = Lib.Value.CpuTraits(weightType)->vec_dot;
        return fn != null ? fn : throw new NotSupportedException($"ggml-cpu has no vec_dot for {weightType}");
    }

    /// <summary>ggml-cpu's ggml_vec_dot_f32 (exported): Σ x·y over n floats.</summary>
    public static float VecDotF32(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length)
            throw new ArgumentException("x and y differ in length");
        var fn = (delegate* unmanaged<int, float*, nuint, float*, nuint, float*, nuint, int, void>)Lib.Value.CpuExport("ggml_vec_dot_f32");
        float s;
        fixed (float* px = x)
        fixed (float* py = y)
            fn(x.Length, &s, 0, px, 0, py, 0, 1);
        return s;
    }

    /// <summary>ggml-cpu's ggml_vec_soft_max_f32 (exported): y = exp(x − max), returns Σ y (double).</summary>
    public static double VecSoftMaxF32(ReadOnlySpan<float> x, Span<float> y, float max)
    {
        var fn = (delegate* unmanaged<int, float*, float*, float, double>)Lib.Value.CpuExport("ggml_vec_soft_max_f32");
        fixed (float* px = x)
        fixed (float* py = y)
            return fn(x.Length, py, px, max);
    }

    /// <summary>ggml-cpu's ggml_vec_swiglu_f32 (exported): y = silu(x) ⊙ g over n floats.</summary>
    public static void VecSwiGluF32(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> y)
    {
        if (x.Length != g.Length || y.Length != x.Length)
            throw new ArgumentException("x, g and y differ in length");
        var fn = (delegate* unmanaged<int, float*, float*, float*, void>)Lib.Value.CpuExport("ggml_vec_swiglu_f32");
        fixed (float* px = x)
        fixed (float* pg = g)
        fixed (float* py = y)
            fn(x.Length, py, px, pg);
    }

    /// <summary>ggml_compute_params: ith, nth, wsize, wdata, threadpool, use_ref (zeroed beyond nth).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ComputeParams
    {
        public int Ith, Nth;
        public nuint WSize;
        public void* WData, ThreadPool;
        public long Spare0, Spare1;
    }

    /// <summary>Whether libggml-cpu.so exports llamafile_sgemm (tinyBLAS).</summary>
    public static bool HasTinyBlas => NativeLibrary.TryGetExport(Lib.Value.CpuLibrary, "llamafile_sgemm", out _);

    /// <summary>
    /// llamafile's tinyBLAS (llamafile_sgemm, one thread, no thread pool: only its quantized tinyBLAS_Q0 kernels run
    /// without one; the float ones need <see cref="MulMat"/>): C[t·rows + r] = Σ w_r·a_t for <paramref name="rows"/> weight
    /// rows and <paramref name="tokens"/> activation rows, n elements each. Null where tinyBLAS declines the product.
    /// </summary>
    public static float[]? TinyBlas(GgmlType weightType, ReadOnlySpan<byte> w, GgmlType activationType, ReadOnlySpan<byte> a, int rows, int tokens, int n)
    {
        var fn = (delegate* unmanaged<ComputeParams*, long, long, long, void*, long, void*, long, void*, long, int, int, int, byte>)Lib.Value.CpuExport("llamafile_sgemm");
        var wInfo = GgmlTypes.Get(weightType);
        var aInfo = GgmlTypes.Get(activationType);
        if (w.Length != wInfo.RowBytes(n) * rows || a.Length != aInfo.RowBytes(n) * tokens)
            throw new ArgumentException("weights or activations do not hold rows (tokens) × n elements");
        var c = new float[rows * tokens];
        var p = new ComputeParams { Ith = 0, Nth = 1 };
        byte done;
        fixed (byte* pw = w)
        fixed (byte* pa = a)
        fixed (float* pc = c)
            // leading dimensions are in elements of the type: blocks for quantized types
            done = fn(&p, rows, tokens, n / wInfo.BlockSize, pw, n / wInfo.BlockSize, pa, n / aInfo.BlockSize, pc, rows,
                (int)weightType, (int)activationType, (int)GgmlType.F32);
        return done != 0 ? c : null;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct InitParams
    {
        public nuint MemSize;
        public void* MemBuffer;
        public byte NoAlloc;
    }

    /// <summary>
    /// ggml's own mul_mat, computed on one thread by ggml_graph_compute_with_ctx: y (tokens × rows) = x · Wᵀ for
    /// <paramref name="rows"/> weight rows of <paramref name="weightType"/> (n elements each) and F32 activations. ggml
    /// picks the kernel as llama.cpp's graph does (activations converted to the vec_dot type, tinyBLAS for batches where it
    /// takes them, else vec_dot); weights are not repacked (that is a backend buffer type).
    /// </summary>
    public static float[] MulMat(GgmlType weightType, ReadOnlySpan<byte> w, int rows, int n, ReadOnlySpan<float> x, int tokens)
    {
        if (w.Length != GgmlTypes.Get(weightType).RowBytes(n) * rows || x.Length != (long)tokens * n)
            throw new ArgumentException("weights or activations do not hold rows (tokens) × n elements");
        var lib = Lib.Value;
        var init = (delegate* unmanaged<InitParams, void*>)lib.BaseExport("ggml_init");
        var free = (delegate* unmanaged<void*, void>)lib.BaseExport("ggml_free");
        var newTensor2d = (delegate* unmanaged<void*, int, long, long, void*>)lib.BaseExport("ggml_new_tensor_2d");
        var mulMat = (delegate* unmanaged<void*, void*, void*, void*>)lib.BaseExport("ggml_mul_mat");
        var newGraph = (delegate* unmanaged<void*, void*>)lib.BaseExport("ggml_new_graph");
        var expand = (delegate* unmanaged<void*, void*, void>)lib.BaseExport("ggml_build_forward_expand");
        var getData = (delegate* unmanaged<void*, void*>)lib.BaseExport("ggml_get_data");
        var compute = (delegate* unmanaged<void*, void*, int, int>)lib.CpuExport("ggml_graph_compute_with_ctx");
        long bytes = w.Length + x.Length * 4L * 3 + (long)tokens * rows * 4 + (16 << 20);
        void* ctx = init(new InitParams { MemSize = (nuint)bytes, MemBuffer = null, NoAlloc = 0 });
        if (ctx == null)
            throw new InvalidOperationException("ggml_init failed");
        try
        {
            void* a = newTensor2d(ctx, (int)weightType, n, rows);
            void* b = newTensor2d(ctx, (int)GgmlType.F32, n, tokens);
            w.CopyTo(new Span<byte>(getData(a), w.Length));
            x.CopyTo(new Span<float>(getData(b), x.Length));
            void* c = mulMat(ctx, a, b);
            void* graph = newGraph(ctx);
            expand(graph, c);
            int status = compute(ctx, graph, 1);
            if (status != 0)
                throw new InvalidOperationException($"ggml_graph_compute_with_ctx returned {status}");
            return new ReadOnlySpan<float>(getData(c), tokens * rows).ToArray();
        }
        finally
        {
            free(ctx);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TypeTraits
    {
        public byte* type_name;
        public long blck_size;
        public long blck_size_interleave;
        public nuint type_size;
        public byte is_quantized;
        public delegate* unmanaged<void*, float*, long, void> to_float;
        public delegate* unmanaged<float*, void*, long, void> from_float_ref;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CpuTypeTraits
    {
        public delegate* unmanaged<float*, void*, long, void> from_float;
        public delegate* unmanaged<int, float*, nuint, void*, nuint, void*, nuint, int, void> vec_dot;
        public int vec_dot_type;
        public long nrows;
    }

    private sealed class Native
    {
        public required string Directory { get; init; }
        public required nint BaseLibrary { get; init; }
        public required nint CpuLibrary { get; init; }

        public nint BaseExport(string name) =>
            NativeLibrary.TryGetExport(BaseLibrary, name, out var fn) ? fn : throw new NotSupportedException($"libggml-base.so does not export {name}");

        public nint CpuExport(string name) =>
            NativeLibrary.TryGetExport(CpuLibrary, name, out var fn) ? fn : throw new NotSupportedException($"libggml-cpu.so does not export {name}");
        private delegate* unmanaged<int, TypeTraits*> getTraits;

        public delegate* unmanaged<void*, float*, long, void> ExportedDequantizer(GgmlType type)
        {
            string name = "dequantize_row_" + type.ToString().ToLowerInvariant().Replace("_k", "_K");
            return NativeLibrary.TryGetExport(BaseLibrary, name, out var fn)
                ? (delegate* unmanaged<void*, float*, long, void>)fn
                : throw new NotSupportedException($"ggml has no dequantizer for {type} ({name})");
        }

        public delegate* unmanaged<float*, void*, long, void> ExportedReferenceQuantizer(GgmlType type)
        {
            string name = "quantize_row_" + type.ToString().ToLowerInvariant().Replace("_k", "_K") + "_ref";
            return NativeLibrary.TryGetExport(BaseLibrary, name, out var fn)
                ? (delegate* unmanaged<float*, void*, long, void>)fn
                : throw new NotSupportedException($"ggml has no reference quantizer for {type} ({name})");
        }
        private delegate* unmanaged<int, CpuTypeTraits*> getCpuTraits;

        public TypeTraits* Traits(GgmlType type)
        {
            var t = getTraits((int)type);
            Verify(type, t);
            return t;
        }

        public CpuTypeTraits* CpuTraits(GgmlType type)
        {
            Verify(type, getTraits((int)type));
            return getCpuTraits((int)type);
        }

        private static void Verify(GgmlType type, TypeTraits* t)
        {
            var info = GgmlTypes.Get(type);
            string name = Marshal.PtrToStringUTF8((nint)t->type_name) ?? "";
            if (!name.Equals(info.Name, StringComparison.OrdinalIgnoreCase) || t->blck_size != info.BlockSize || (long)t->type_size != info.TypeSize)
                throw new InvalidOperationException(
                    $"ggml's type traits for {type} do not match ours: name '{name}', block {t->blck_size}, size {t->type_size} " +
                    $"(expected {info.BlockSize}/{info.TypeSize}); struct layout or type ids changed");
        }

        public static Native Load()
        {
            string dir = FindDirectory();
            var baseLib = NativeLibrary.Load(Path.Combine(dir, "libggml-base.so"));
            var cpuLib = NativeLibrary.Load(Path.Combine(dir, "libggml-cpu.so"));
            var native = new Native
            {
                Directory = dir,
                BaseLibrary = baseLib,
                CpuLibrary = cpuLib,
                getTraits = (delegate* unmanaged<int, TypeTraits*>)NativeLibrary.GetExport(baseLib, "ggml_get_type_traits"),
                getCpuTraits = (delegate* unmanaged<int, CpuTypeTraits*>)NativeLibrary.GetExport(cpuLib, "ggml_get_type_traits_cpu"),
            };
            ((delegate* unmanaged<void>)NativeLibrary.GetExport(cpuLib, "ggml_cpu_init"))();
            return native;
        }

        private static string FindDirectory()
        {
            if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
                throw new PlatformNotSupportedException("the ggml oracle is wired for linux-x64 only");
            // the variant LLamaSharp loads on this CPU (GgmlCpuVariant mirrors its rule)
            string variant = GgmlCpuVariant.Avx512Build ? "avx512"
                : Avx2.IsSupported ? "avx2"
                : Avx.IsSupported ? "avx" : "noavx";
            var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", variant) };
            string? packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
            if (string.IsNullOrEmpty(packages))
                packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            candidates.Add(Path.Combine(packages, "llamasharp.backend.cpu", "0.30.0", "LLamaSharpRuntimes", "linux-x64", "native", variant));
            foreach (var c in candidates)
                if (File.Exists(Path.Combine(c, "libggml-base.so")) && File.Exists(Path.Combine(c, "libggml-cpu.so")))
                    return c;
            throw new DllNotFoundException("libggml-base.so / libggml-cpu.so not found in: " + string.Join(", ", candidates));
        }
    }
}
