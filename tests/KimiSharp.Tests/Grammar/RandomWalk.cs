using System.Text;
using KimiSharp.Grammar;
using KimiSharp.Sampling;

namespace KimiSharp.Tests.Grammar;

/// <summary>
/// Generates a sentence of a grammar token by token with the real mask: a uniformly random allowed token per step;
/// after <see cref="CloseAfter"/> tokens it prefers tokens that close ('"', '}', ']') and avoids ',' so that
/// unbounded structures end. Stops when the grammar is complete and nothing (or a coin flip) says go on.
/// </summary>
internal static class RandomWalk
{
    public const int CloseAfter = 60, MaxTokens = 4000;

    public static string Generate(CompiledGrammar grammar, GrammarVocabulary vocabulary, Random random, TokenMask mask)
    {
        var matcher = new GrammarMatcher(grammar);
        var bytes = new List<byte>();
        var allowed = new List<int>();
        var closing = new List<int>();
        for (int step = 0; step < MaxTokens; step++)
        {
            matcher.ComputeMask(vocabulary, mask.Bits);
            allowed.Clear();
            closing.Clear();
            for (int id = 0; id < vocabulary.Size; id++)
            {
                if (!mask.IsSet(id)) continue;
                allowed.Add(id);
                if (vocabulary.TokenBytes[id] is [(byte)'"' or (byte)'}' or (byte)']', ..]) closing.Add(id);
            }
            if (matcher.IsAccepting && (allowed.Count == 0 || random.NextDouble() < (step > CloseAfter ? 0.9 : 0.3))) break;
            Assert.True(allowed.Count > 0, $"nothing allowed and the grammar is not complete after: {Encoding.UTF8.GetString(bytes.ToArray())}");
            var pool = allowed;
            if (step > CloseAfter)
            {
                if (closing.Count > 0) pool = closing;
                else
                {
                    var noComma = allowed.Where(id => vocabulary.TokenBytes[id] is not [(byte)',', ..]).ToList();
                    if (noComma.Count > 0) pool = noComma;
                }
            }
            int token = pool[random.Next(pool.Count)];
            var tokenBytes = vocabulary.TokenBytes[token] ?? throw new InvalidOperationException("special token in a JSON grammar");
            Assert.True(matcher.AcceptBytes(tokenBytes));
            bytes.AddRange(tokenBytes);
        }
        Assert.True(matcher.IsAccepting, $"the walk did not end within {MaxTokens} tokens");
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
