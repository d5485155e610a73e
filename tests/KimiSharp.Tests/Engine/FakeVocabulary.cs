using System.Text;
using KimiSharp.Engine;

namespace KimiSharp.Tests.Engine;

/// <summary>Tokens are byte strings; decoding assembles UTF-8 across tokens like the real streaming decoder.</summary>
internal sealed class FakeVocabulary(byte[][] tokens, params int[] endOfGeneration) : IEngineVocabulary
{
    public IReadOnlyList<int> EndOfGenerationIds => endOfGeneration;

    public ITokenTextDecoder CreateDecoder() => new Decoder(tokens);

    public static FakeVocabulary FromStrings(string[] tokens, params int[] endOfGeneration) =>
        new(tokens.Select(Encoding.UTF8.GetBytes).ToArray(), endOfGeneration);

    private sealed class Decoder(byte[][] tokens) : ITokenTextDecoder
    {
        private readonly System.Text.Decoder _utf8 = new UTF8Encoding(false, false).GetDecoder();

        public string Push(int tokenId)
        {
            var bytes = tokens[tokenId];
            var chars = new char[bytes.Length + 2];
            int n = _utf8.GetChars(bytes, 0, bytes.Length, chars, 0, flush: false);
            return new string(chars, 0, n);
        }

        public string Flush()
        {
            var chars = new char[8];
            int n = _utf8.GetChars([], 0, 0, chars, 0, flush: true);
            return new string(chars, 0, n);
        }
    }
}
