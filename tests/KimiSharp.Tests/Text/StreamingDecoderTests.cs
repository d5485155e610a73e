using System.Text;
using KimiSharp.Text;

namespace KimiSharp.Tests.Text;

public class StreamingDecoderTests
{
    private static readonly Tokenizer Kimi = Tokenizer.Create(TestVocabulary.Build());

    [Theory]
    [InlineData("plain ascii text")]
    [InlineData("emoji 👩🏽‍🔬🇯🇵 and 中文 and e\u0301 and 𠀀")]
    public void Push_never_emits_half_a_character_and_the_pieces_concatenate_to_the_text(string text)
    {
        var decoder = new StreamingDecoder(Kimi);
        var sb = new StringBuilder();
        foreach (int id in Kimi.Encode(text))
        {
            string piece = decoder.Push(id);
            Assert.DoesNotContain('\uFFFD', piece);
            if (piece.Length > 0)
            {
                Assert.False(char.IsHighSurrogate(piece[^1]), "piece ends with half a surrogate pair");
                Assert.False(char.IsLowSurrogate(piece[0]), "piece starts with half a surrogate pair");
            }
            sb.Append(piece);
        }
        sb.Append(decoder.Flush());
        Assert.Equal(text, sb.ToString());
    }

    [Fact]
    public void Push_holds_the_bytes_of_a_split_character_until_it_is_complete()
    {
        // 😀 = F0 9F 98 80: the test vocabulary has no merge for it, so it is four byte tokens.
        int[] ids = Kimi.Encode("😀");
        Assert.Equal(4, ids.Length);
        var decoder = new StreamingDecoder(Kimi);
        Assert.Equal("", decoder.Push(ids[0]));
        Assert.Equal("", decoder.Push(ids[1]));
        Assert.Equal("", decoder.Push(ids[2]));
        Assert.Equal("😀", decoder.Push(ids[3]));
    }

    [Fact]
    public void Flush_emits_a_replacement_character_for_an_unfinished_sequence()
    {
        int[] ids = Kimi.Encode("😀");
        var decoder = new StreamingDecoder(Kimi);
        decoder.Push(ids[0]);
        decoder.Push(ids[1]);
        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void Push_does_not_hold_invalid_bytes_forever()
    {
        Assert.True(Kimi.TryGetId(ByteLevel.ByteToChar(0x80).ToString(), out int continuation));
        var decoder = new StreamingDecoder(Kimi);
        Assert.Equal("\uFFFD", decoder.Push(continuation)); // a stray continuation byte can never complete
        Assert.Equal("a", decoder.Push(Kimi.Encode("a")[0]));
    }
}
