using KimiSharp.Text;

namespace KimiSharp.Engine;

/// <summary>The engine's view of a <see cref="Tokenizer"/>: its end-of-generation ids and a <see cref="StreamingDecoder"/> per sequence.</summary>
public sealed class TokenizerVocabulary(Tokenizer tokenizer) : IEngineVocabulary
{
    public Tokenizer Tokenizer { get; } = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));

    public IReadOnlyList<int> EndOfGenerationIds => Tokenizer.EndOfGenerationIds;

    public ITokenTextDecoder CreateDecoder() => new Decoder(new StreamingDecoder(Tokenizer));

    private sealed class Decoder(StreamingDecoder inner) : ITokenTextDecoder
    {
        public string Push(int tokenId) => inner.Push(tokenId);
        public string Flush() => inner.Flush();
    }
}
