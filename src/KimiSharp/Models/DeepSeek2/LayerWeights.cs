using KimiSharp.Compute;

namespace KimiSharp.Models.DeepSeek2;

/// <summary>Views of one transformer block's tensors (pointers into the memory map).</summary>
internal sealed unsafe class LayerWeights
{
    public required int Index { get; init; }
    public required float* AttnNorm { get; init; }

    // Query: with q LoRA (QA → norm → QB) or plain (Q).
    public QuantMatrix? QA { get; init; }
    public float* QANorm { get; init; }
    public required QuantMatrix QB { get; init; }

    public required QuantMatrix KvA { get; init; }
    public required float* KvANorm { get; init; }
    /// <summary>Per head: Rkv rows of Dn (W_UK[h]ᵀ), so q_abs = KB[h] · q_nope.</summary>
    public required MatrixStack KB { get; init; }
    /// <summary>Per head: Dv rows of Rkv (W_UV[h]), so o = VB[h] · o_lat.</summary>
    public required MatrixStack VB { get; init; }
    public required QuantMatrix Output { get; init; }

    public required float* FfnNorm { get; init; }

    // Dense FFN (leading layers).
    public QuantMatrix? Gate { get; init; }
    public QuantMatrix? Up { get; init; }
    public QuantMatrix? Down { get; init; }

    // MoE.
    public QuantMatrix? Router { get; init; }
    public float* RouterBias { get; init; }
    public MatrixStack GateExps { get; init; }
    public MatrixStack UpExps { get; init; }
    /// <summary>True when gate and up live in one fused <c>ffn_gate_up_exps</c> (gate rows first).</summary>
    public bool FusedGateUp { get; init; }
    public MatrixStack DownExps { get; init; }
    public QuantMatrix? GateShared { get; init; }
    public QuantMatrix? UpShared { get; init; }
    public QuantMatrix? DownShared { get; init; }

    public bool IsDense => Gate is not null;
}
