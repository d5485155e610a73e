using System.Runtime.Intrinsics.X86;

namespace KimiSharp.Quants.Tiles;

/// <summary>
/// One weight row against up to <see cref="TileKernels.MaxTokens"/> activation rows (in the weight type's vec_dot
/// format): y[j] = Σ_k W[k]·a_j[k]. Each weight block is decoded once for all the tokens, so a prefill tile pays the
/// decode (nibble unpacking, grid lookups, scale unpacking) once per block instead of once per token. Every token's
/// result is summed in the same order whatever the tile size, so a token gives the same bits alone or in a batch.
/// Arguments: weight row, activation row pointers, token count (1..MaxTokens), columns, outputs.
/// </summary>
internal readonly unsafe struct TileKernel(delegate* managed<byte*, byte**, int, int, float*, void> run)
{
    public delegate* managed<byte*, byte**, int, int, float*, void> Run { get; } = run;
}

/// <summary>The tile kernels this machine has (AVX2 + FMA); other types and machines use the codecs' vec_dot.</summary>
internal static unsafe class TileKernels
{
    /// <summary>Most tokens one call takes (one accumulator register per token).</summary>
    public const int MaxTokens = 8;

    public static bool Available { get; } = Avx2.IsSupported && Fma.IsSupported;

    /// <summary>The tile kernel for <paramref name="type"/> weights, if there is one on this machine.</summary>
    public static bool TryGet(GgmlType type, out TileKernel kernel)
    {
        kernel = default;
        if (!Available) return false;
        kernel = type switch
        {
            GgmlType.Q4_K => new TileKernel(&Q4KTile.Run),
            GgmlType.Q6_K => new TileKernel(&Q6KTile.Run),
            GgmlType.IQ2_XXS => new TileKernel(&Iq2XxsTile.Run),
            _ => default,
        };
        return kernel.Run != null;
    }
}

/// <summary>A compile-time token count: the kernels are generic over it so the JIT drops the unused accumulators.</summary>
internal interface ITokenCount
{
    static abstract int Count { get; }
}

internal struct Tokens1 : ITokenCount { public static int Count => 1; }
internal struct Tokens2 : ITokenCount { public static int Count => 2; }
internal struct Tokens3 : ITokenCount { public static int Count => 3; }
internal struct Tokens4 : ITokenCount { public static int Count => 4; }
internal struct Tokens5 : ITokenCount { public static int Count => 5; }
internal struct Tokens6 : ITokenCount { public static int Count => 6; }
internal struct Tokens7 : ITokenCount { public static int Count => 7; }
internal struct Tokens8 : ITokenCount { public static int Count => 8; }
