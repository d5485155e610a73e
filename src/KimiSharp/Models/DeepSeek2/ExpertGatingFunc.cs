namespace KimiSharp.Models.DeepSeek2;

/// <summary>How router logits become expert scores (<c>deepseek2.expert_gating_func</c>, llama.cpp ids).</summary>
public enum ExpertGatingFunc
{
    Softmax = 1,
    Sigmoid = 2,
}
