using KimiSharp.Gguf;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>
/// Reads <c>deepseek2.*</c> hyperparameters, accepting a scalar or a per-layer array where llama.cpp does,
/// and turning every problem into a <see cref="ModelLoadException"/> that names the key.
/// </summary>
internal sealed class MetadataReader(GgufMetadata metadata, string prefix)
{
    public string Key(string name) => prefix + "." + name;

    public bool Has(string name) => metadata.ContainsKey(Key(name));

    public int Int(string name) =>
        TryInt(name) ?? throw new ModelLoadException($"metadata key '{Key(name)}' is missing (expected an integer)", Key(name));

    public int IntOr(string name, int fallback) => TryInt(name) ?? fallback;

    public int? TryInt(string name)
    {
        if (!metadata.TryGetValue(Key(name), out var value))
            return null;
        if (value.Type == GgufValueType.Array)
            throw new ModelLoadException($"metadata key '{Key(name)}' is an array; expected one integer", Key(name));
        return ToInt(Key(name), value.Value);
    }

    /// <summary>A value that may be one scalar for all layers or an array with one entry per layer.</summary>
    public int[] PerLayer(string name, int layers, int? fallback = null)
    {
        if (!metadata.TryGetValue(Key(name), out var value))
        {
            if (fallback is { } f)
                return Enumerable.Repeat(f, layers).ToArray();
            throw new ModelLoadException($"metadata key '{Key(name)}' is missing (expected an integer or a per-layer array)", Key(name));
        }
        if (value.Type != GgufValueType.Array)
            return Enumerable.Repeat(ToInt(Key(name), value.Value), layers).ToArray();
        if (value.Value is not Array array || array.Length != layers)
            throw new ModelLoadException(
                $"metadata key '{Key(name)}' is an array of {(value.Value as Array)?.Length ?? 0} values; expected {layers} (one per layer)", Key(name));
        var result = new int[layers];
        for (int i = 0; i < layers; i++)
            result[i] = ToInt(Key(name), array.GetValue(i)!);
        return result;
    }

    public float Float(string name) =>
        TryFloat(name) ?? throw new ModelLoadException($"metadata key '{Key(name)}' is missing (expected a number)", Key(name));

    public float FloatOr(string name, float fallback) => TryFloat(name) ?? fallback;

    public float? TryFloat(string name)
    {
        if (!metadata.TryGetValue(Key(name), out var value))
            return null;
        return value.Value switch
        {
            float f => f,
            double d => (float)d,
            byte or sbyte or ushort or short or uint or int or ulong or long => Convert.ToSingle(value.Value, System.Globalization.CultureInfo.InvariantCulture),
            _ => throw new ModelLoadException($"metadata key '{Key(name)}' has type {value.Type}; expected a number", Key(name)),
        };
    }

    public bool BoolOr(string name, bool fallback)
    {
        if (!metadata.TryGetValue(Key(name), out var value))
            return fallback;
        return value.Value is bool b
            ? b
            : throw new ModelLoadException($"metadata key '{Key(name)}' has type {value.Type}; expected a bool", Key(name));
    }

    public string? TryString(string name) =>
        metadata.TryGetValue(Key(name), out var value)
            ? value.Value as string ?? throw new ModelLoadException($"metadata key '{Key(name)}' has type {value.Type}; expected a string", Key(name))
            : null;

    private static int ToInt(string key, object value)
    {
        long v = value switch
        {
            byte b => b,
            sbyte b => b,
            ushort s => s,
            short s => s,
            uint u => u,
            int i => i,
            ulong u when u <= int.MaxValue => (long)u,
            long l => l,
            _ => throw new ModelLoadException($"metadata key '{key}' holds {value.GetType().Name} {value}; expected a non-negative 32-bit integer", key),
        };
        if (v < 0 || v > int.MaxValue)
            throw new ModelLoadException($"metadata key '{key}' is {v}; expected a non-negative 32-bit integer", key);
        return (int)v;
    }
}
