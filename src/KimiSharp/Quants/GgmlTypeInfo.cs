namespace KimiSharp.Quants;

/// <summary>Storage layout of one ggml type: <see cref="BlockSize"/> elements take <see cref="TypeSize"/> bytes.</summary>
public readonly record struct GgmlTypeInfo(GgmlType Type, string Name, int BlockSize, int TypeSize, bool IsQuantized)
{
    /// <summary>Bytes taken by <paramref name="elements"/> elements (must be a multiple of the block size).</summary>
    public long RowBytes(long elements)
    {
        if (elements < 0 || elements % BlockSize != 0)
            throw new ArgumentException($"{Name}: {elements} elements is not a multiple of the block size {BlockSize}", nameof(elements));
        return checked(elements / BlockSize * TypeSize);
    }
}

/// <summary>The table of every ggml type id this build knows the layout of.</summary>
public static class GgmlTypes
{
    private static readonly GgmlTypeInfo?[] ById = Build();

    private static GgmlTypeInfo?[] Build()
    {
        var t = new GgmlTypeInfo?[64];
        void Add(GgmlType type, int block, int size, bool quantized) =>
            t[(int)type] = new GgmlTypeInfo(type, type.ToString(), block, size, quantized);
        Add(GgmlType.F32, 1, 4, false);
        Add(GgmlType.F16, 1, 2, false);
        Add(GgmlType.Q4_0, 32, 18, true);
        Add(GgmlType.Q4_1, 32, 20, true);
        Add(GgmlType.Q5_0, 32, 22, true);
        Add(GgmlType.Q5_1, 32, 24, true);
        Add(GgmlType.Q8_0, 32, 34, true);
        Add(GgmlType.Q8_1, 32, 36, true);
        Add(GgmlType.Q2_K, 256, 84, true);
        Add(GgmlType.Q3_K, 256, 110, true);
        Add(GgmlType.Q4_K, 256, 144, true);
        Add(GgmlType.Q5_K, 256, 176, true);
        Add(GgmlType.Q6_K, 256, 210, true);
        Add(GgmlType.Q8_K, 256, 292, true);
        Add(GgmlType.IQ2_XXS, 256, 66, true);
        Add(GgmlType.IQ2_XS, 256, 74, true);
        Add(GgmlType.IQ3_XXS, 256, 98, true);
        Add(GgmlType.IQ1_S, 256, 50, true);
        Add(GgmlType.IQ4_NL, 32, 18, true);
        Add(GgmlType.IQ3_S, 256, 110, true);
        Add(GgmlType.IQ2_S, 256, 82, true);
        Add(GgmlType.IQ4_XS, 256, 136, true);
        Add(GgmlType.I8, 1, 1, false);
        Add(GgmlType.I16, 1, 2, false);
        Add(GgmlType.I32, 1, 4, false);
        Add(GgmlType.I64, 1, 8, false);
        Add(GgmlType.F64, 1, 8, false);
        Add(GgmlType.IQ1_M, 256, 56, true);
        Add(GgmlType.BF16, 1, 2, false);
        Add(GgmlType.TQ1_0, 256, 54, true);
        Add(GgmlType.TQ2_0, 256, 66, true);
        Add(GgmlType.MXFP4, 32, 17, true);
        return t;
    }

    /// <summary>Layout of a type id read from a file; false for ids this build does not know.</summary>
    public static bool TryGet(int id, out GgmlTypeInfo info)
    {
        if ((uint)id < (uint)ById.Length && ById[id] is { } found)
        {
            info = found;
            return true;
        }
        info = default;
        return false;
    }

    public static GgmlTypeInfo Get(GgmlType type) =>
        TryGet((int)type, out var info) ? info : throw new NotSupportedException($"ggml type {(int)type} ({type}) is not known to this build");

    public static IEnumerable<GgmlTypeInfo> All => ById.Where(i => i.HasValue).Select(i => i!.Value);
}
