namespace KimiSharp.Engine;

/// <summary>
/// The tokenizer facts the engine needs: which tokens end a generation and how to turn tokens into text
/// incrementally. <see cref="TokenizerVocabulary"/> adapts KimiSharp.Text.Tokenizer; tests may script one.
/// </summary>
public interface IEngineVocabulary
{
    IReadOnlyList<int> EndOfGenerationIds { get; }

    /// <summary>A fresh incremental decoder for one sequence.</summary>
    ITokenTextDecoder CreateDecoder();
}

/// <summary>Turns tokens into text as they come, never emitting half a UTF-8 character.</summary>
public interface ITokenTextDecoder
{
    string Push(int tokenId);

    /// <summary>Whatever is still buffered (incomplete bytes become U+FFFD).</summary>
    string Flush();
}
