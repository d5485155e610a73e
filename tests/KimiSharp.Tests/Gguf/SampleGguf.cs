using KimiSharp.Gguf;
using KimiSharp.Quants;

namespace KimiSharp.Tests.Gguf;

/// <summary>A small GGUF with every metadata type and a few tensors of different ggml types.</summary>
public static class SampleGguf
{
    public static GgufWriter Build(uint alignment = 32, int seed = 1) => Build(alignment, seed, new Dictionary<string, byte[]>());

    /// <summary>Builds the sample; <paramref name="tensorBytes"/> receives each tensor's bytes.</summary>
    public static GgufWriter Build(uint alignment, int seed, Dictionary<string, byte[]> tensorBytes)
    {
        var rng = new Random(seed);
        var w = new GgufWriter(alignment);
        w.SetString("general.architecture", "deepseek2");
        w.SetUInt8("t.u8", 200);
        w.SetInt8("t.i8", -100);
        w.SetUInt16("t.u16", 60000);
        w.SetInt16("t.i16", -30000);
        w.SetUInt32("t.u32", 4_000_000_000);
        w.SetInt32("t.i32", -2_000_000_000);
        w.SetFloat32("t.f32", 2.827f);
        w.SetBool("t.bool", true);
        w.SetString("t.str", "héllo ✓ 𝄞");
        w.SetUInt64("t.u64", ulong.MaxValue - 5);
        w.SetInt64("t.i64", long.MinValue + 7);
        w.SetFloat64("t.f64", Math.PI);
        w.SetArray("a.u8", new byte[] { 1, 2, 255 });
        w.SetArray("a.i8", new sbyte[] { -1, 0, 127 });
        w.SetArray("a.u16", new ushort[] { 1, 65535 });
        w.SetArray("a.i16", new short[] { -32768, 5 });
        w.SetArray("a.u32", new uint[] { 7, uint.MaxValue });
        w.SetArray("a.i32", new[] { -7, 0, 9 });
        w.SetArray("a.f32", new[] { 0.5f, -1e-6f, float.MaxValue });
        w.SetArray("a.bool", new[] { true, false, true });
        w.SetArray("a.str", new[] { "", "a", "Ġthe", "<|im_end|>", "日本" });
        w.SetArray("a.u64", new ulong[] { 0, ulong.MaxValue });
        w.SetArray("a.i64", new long[] { long.MinValue, 3 });
        w.SetArray("a.f64", new[] { double.Epsilon, -2.5 });
        w.SetArray("a.empty", Array.Empty<int>());
        AddRandom(w, rng, tensorBytes, "token_embd.weight", GgmlType.F32, [8, 5]);
        AddRandom(w, rng, tensorBytes, "blk.0.attn_k_b.weight", GgmlType.Q8_0, [32, 4, 2]);
        AddRandom(w, rng, tensorBytes, "blk.0.ffn_up_exps.weight", GgmlType.Q4_K, [256, 3, 2]);
        AddRandom(w, rng, tensorBytes, "blk.0.attn_norm.weight", GgmlType.F16, [7]);
        AddRandom(w, rng, tensorBytes, "output.weight", GgmlType.BF16, [3, 3]);
        return w;
    }

    public static void AddRandom(GgufWriter w, Random rng, Dictionary<string, byte[]> tensorBytes, string name, GgmlType type, long[] dims)
    {
        var bytes = new byte[GgufWriter.TensorByteSize(type, dims)];
        rng.NextBytes(bytes);
        tensorBytes[name] = bytes;
        w.AddTensor(name, type, dims, bytes);
    }

    /// <summary>Writes the sample and returns its bytes.</summary>
    public static byte[] Bytes(TempDir dir, uint alignment = 32)
    {
        var path = dir.File($"sample-{alignment}.gguf");
        Build(alignment).Write(path);
        return File.ReadAllBytes(path);
    }
}
