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
            string variant = Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported ? "avx512"
                : Avx2.IsSupported && Fma.IsSupported ? "avx2"
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
