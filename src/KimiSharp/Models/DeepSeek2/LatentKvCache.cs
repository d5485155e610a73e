using System.Runtime.InteropServices;
using KimiSharp.Quants;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>
/// The MLA cache of one sequence: per layer and token one row of <c>kv_lora_rank</c> normalised latent
/// values followed by the roped k_pe (<c>rope.dimension_count</c> values), stored as F32, F16 or Q8_0.
/// </summary>
internal sealed unsafe class LatentKvCache : IDisposable
{
    private readonly byte*[] _layers;
    private readonly long _rowBytes;

    public LatentKvCache(int layers, int maxTokens, int rowLength, KvCacheType type)
    {
        if (type == KvCacheType.Q8_0 && rowLength % 32 != 0)
            throw new ArgumentException($"a Q8_0 KV cache needs rows that are a multiple of 32 values; this model's rows have {rowLength}");
        Type = type;
        RowLength = rowLength;
        MaxTokens = maxTokens;
        _rowBytes = RowBytesFor(type, rowLength);
        _layers = new byte*[layers];
        for (int i = 0; i < layers; i++)
            _layers[i] = (byte*)NativeMemory.AllocZeroed((nuint)(_rowBytes * maxTokens));
    }

    public KvCacheType Type { get; }
    public int RowLength { get; }
    public int MaxTokens { get; }

    /// <summary>Bytes held by the cache.</summary>
    public long Bytes => _rowBytes * MaxTokens * _layers.Length;

    public static long RowBytesFor(KvCacheType type, int rowLength) => type switch
    {
        KvCacheType.F32 => rowLength * 4L,
        KvCacheType.F16 => rowLength * 2L,
        KvCacheType.Q8_0 => GgmlTypes.Get(GgmlType.Q8_0).RowBytes(rowLength),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Stores one row (latent then k_pe) at <paramref name="position"/>.</summary>
    public void Write(int layer, int position, ReadOnlySpan<float> row)
    {
        CheckPosition(position);
        byte* dst = _layers[layer] + position * _rowBytes;
        switch (Type)
        {
            case KvCacheType.F32:
                row[..RowLength].CopyTo(new Span<float>(dst, RowLength));
                break;
            case KvCacheType.F16:
                var h = new Span<Half>(dst, RowLength);
                for (int i = 0; i < RowLength; i++)
                    h[i] = (Half)row[i];
                break;
            default:
                QuantCodecs.Quantize(GgmlType.Q8_0, row[..RowLength], new Span<byte>(dst, (int)_rowBytes));
                break;
        }
    }

    /// <summary>Rows 0..count−1 of a layer as floats: the cache itself for F32, else decoded into <paramref name="scratch"/>.</summary>
    public float* Rows(int layer, int count, float* scratch, long scratchLength)
    {
        if (count > MaxTokens)
            throw new ArgumentOutOfRangeException(nameof(count));
        if (Type == KvCacheType.F32)
            return (float*)_layers[layer];
        int n = count * RowLength;
        if (scratchLength < n)
            throw new ArgumentException("scratch too small for the cached rows", nameof(scratch));
        if (Type == KvCacheType.F16)
        {
            var h = new ReadOnlySpan<Half>(_layers[layer], n);
            for (int i = 0; i < n; i++)
                scratch[i] = (float)h[i];
        }
        else
        {
            QuantCodecs.Dequantize(GgmlType.Q8_0, new ReadOnlySpan<byte>(_layers[layer], checked((int)(_rowBytes * count))), new Span<float>(scratch, n));
        }
        return scratch;
    }

    private void CheckPosition(int position)
    {
        if ((uint)position >= (uint)MaxTokens)
            throw new InvalidOperationException($"the KV cache holds {MaxTokens} tokens; position {position} does not fit");
    }

    public void Dispose()
    {
        for (int i = 0; i < _layers.Length; i++)
        {
            if (_layers[i] != null)
                NativeMemory.Free(_layers[i]);
            _layers[i] = null;
        }
    }
}
