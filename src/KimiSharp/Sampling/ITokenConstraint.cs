namespace KimiSharp.Sampling;

/// <summary>
/// Constrained decoding state of one sequence (the Enforcer, <c>KimiSharp.Grammar</c>): which tokens may come
/// next. The engine drives it around each sampling step:
/// <list type="number">
/// <item><see cref="BeginMask"/> before the model's forward pass for the position (the allowed set depends only on
/// the tokens accepted so far, so it is computed on a worker thread while the forward runs);</item>
/// <item><see cref="ApplyMask"/> on the logits before sampling (waits for that work, sets every disallowed logit to
/// -infinity, so log-probabilities and every sampler see the constrained distribution);</item>
/// <item><see cref="Accept"/> with the sampled token.</item>
/// </list>
/// Calls come from one thread (the engine loop) and never overlap for one instance; no call allocates per token.
/// </summary>
public interface ITokenConstraint
{
    /// <summary>Starts computing the allowed-token mask for the next position (may return before it is done).</summary>
    void BeginMask();

    /// <summary>Sets disallowed logits to -infinity; computes the mask first if <see cref="BeginMask"/> was not called.</summary>
    void ApplyMask(Span<float> logits);

    /// <summary>Advances past the token that was sampled (always one <see cref="ApplyMask"/> allowed).</summary>
    void Accept(int token);
}
