using System.Text;
using KimiSharp.Chat;

namespace KimiSharp.Tests.Chat;

public sealed class ReasoningParserTests
{
    private static (string Reasoning, string Answer) ParseInChunks(string text, int chunk, bool startsInReasoning = false)
    {
        var parser = new ReasoningParser(startsInReasoning);
        var reasoning = new StringBuilder();
        var answer = new StringBuilder();
        for (int i = 0; i < text.Length; i += chunk)
        {
            var (r, a) = parser.Push(text.Substring(i, Math.Min(chunk, text.Length - i)));
            Assert.True(a.Length == 0 || !parser.InReasoning);
            reasoning.Append(r);
            answer.Append(a);
        }

        var (rest, tail) = parser.Finish();
        return (reasoning.Append(rest).ToString(), answer.Append(tail).ToString());
    }

    [Theory]
    [InlineData("<think>Let me see.</think>\n\nFour.", "Let me see.", "Four.")]
    [InlineData("  <think>a < b, </thin k></think>x</think>y", "a < b, </thin k>", "x</think>y")]
    [InlineData("No reasoning here.", "", "No reasoning here.")]
    [InlineData("<thinking is not the tag", "", "<thinking is not the tag")]
    [InlineData("<think>unfinished when the tokens ran out", "unfinished when the tokens ran out", "")]
    [InlineData("<think></think>Just the answer.", "", "Just the answer.")]
    [InlineData("<think>I will call it.<|tool_calls_section_begin|><|tool_call_begin|>f:0", "I will call it.", "<|tool_calls_section_begin|><|tool_call_begin|>f:0")]
    [InlineData("", "", "")]
    public void Output_splits_into_reasoning_and_answer_whatever_the_chunking(string output, string reasoning, string answer)
    {
        for (int chunk = 1; chunk <= Math.Max(1, output.Length); chunk++)
            Assert.Equal((reasoning, answer), ParseInChunks(output, chunk));
    }

    [Fact]
    public void A_prompt_that_opened_the_reasoning_starts_the_parser_inside_it()
    {
        for (int chunk = 1; chunk < 12; chunk++)
            Assert.Equal(("step one", "done"), ParseInChunks("step one</think>done", chunk, startsInReasoning: true));
    }

    [Fact]
    public void Reasoning_is_released_as_it_streams_except_a_possible_closing_tag()
    {
        var parser = new ReasoningParser();
        Assert.Equal(("", ""), parser.Push("<thi"));
        Assert.Equal(("abc", ""), parser.Push("nk>abc</th"));
        Assert.True(parser.InReasoning);
        Assert.Equal(("", "x"), parser.Push("ink> x"));
        Assert.False(parser.InReasoning);
    }
}
