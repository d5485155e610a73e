using KimiSharp.Chat;

namespace KimiSharp.Tests.Chat;

public sealed class ToolCallParserTests
{
    private const string SB = ToolCallParser.SectionBegin, SE = ToolCallParser.SectionEnd, CB = ToolCallParser.CallBegin,
        AB = ToolCallParser.ArgumentBegin, CE = ToolCallParser.CallEnd;

    private static string Content(IEnumerable<ToolCallParserEvent> events) => string.Concat(events.OfType<ContentDelta>().Select(e => e.Text));

    private static List<ToolCall> Calls(IEnumerable<ToolCallParserEvent> events) => events.OfType<ToolCallCompleted>().Select(e => e.Call).ToList();

    [Fact]
    public void Parser_splits_content_and_one_call_when_given_the_documented_format()
    {
        var events = ToolCallParser.ParseAll($"I'll check.{SB}{CB}functions.get_weather:0{AB}{{\"city\": \"Beijing\"}}{CE}{SE}");
        Assert.Equal("I'll check.", Content(events));
        Assert.Equal([new ToolCall("functions.get_weather:0", "get_weather", "{\"city\": \"Beijing\"}")], Calls(events));
        Assert.Equal(new ToolCallStarted(0, "functions.get_weather:0", "get_weather"), events.OfType<ToolCallStarted>().Single());
    }

    [Fact]
    public void Parser_reads_back_to_back_calls_with_odd_ids()
    {
        string text = $"{SB}{CB}functions.a:0{AB}{{}}{CE}{CB}\n  search:2 \n{AB}{{\"q\":\"x\"}}{CE}{CB}functions.my.ns-tool:1{AB} [1, 2] {CE}{CB}my-tool{AB}{{\"k\":\n  1}}{CE}{SE}";
        var calls = Calls(ToolCallParser.ParseAll(text));
        Assert.Equal(
            [
                new ToolCall("functions.a:0", "a", "{}"),
                new ToolCall("search:2", "search", "{\"q\":\"x\"}"),
                new ToolCall("functions.my.ns-tool:1", "my.ns-tool", "[1, 2]"),
                new ToolCall("my-tool", "my-tool", "{\"k\":\n  1}"),
            ], calls);
    }

    [Fact]
    public void Parser_keeps_complete_calls_when_the_section_end_is_missing()
    {
        var events = ToolCallParser.ParseAll($"x{SB}{CB}functions.f:0{AB}{{\"a\":1}}{CE}{CB}functions.g:1{AB}{{\"b\":");
        Assert.Equal([new ToolCall("functions.f:0", "f", "{\"a\":1}")], Calls(events));
        Assert.Equal(new ToolCallDiscarded(1, "the response ended before the tool call was complete"), events.OfType<ToolCallDiscarded>().Single());
        Assert.Equal("x", Content(events));
    }

    [Fact]
    public void Parser_completes_a_call_with_valid_json_when_call_end_is_missing()
    {
        var calls = Calls(ToolCallParser.ParseAll($"{SB}{CB}functions.f:0{AB}{{\"a\":1}}"));
        Assert.Equal([new ToolCall("functions.f:0", "f", "{\"a\":1}")], calls);
    }

    [Fact]
    public void Parser_accepts_the_singular_section_marker()
    {
        var events = ToolCallParser.ParseAll($"hi{ToolCallParser.SectionBeginSingular}{CB}functions.f:0{AB}{{}}{CE}{ToolCallParser.SectionEndSingular}");
        Assert.Equal("hi", Content(events));
        Assert.Single(Calls(events));
    }

    [Fact]
    public void Parser_unwraps_double_encoded_arguments_and_reports_invalid_json()
    {
        var events = ToolCallParser.ParseAll($"{SB}{CB}functions.f:0{AB}\"{{\\\"a\\\": 1}}\"{CE}{CB}functions.g:1{AB}{{not json{CE}{SE}");
        var completed = events.OfType<ToolCallCompleted>().ToList();
        Assert.Equal("{\"a\": 1}", completed[0].Call.Arguments);
        Assert.Null(completed[0].Error);
        Assert.Equal("{not json", completed[1].Call.Arguments);
        Assert.NotNull(completed[1].Error);
        // argument fragments concatenate to the final arguments
        Assert.Equal("{\"a\": 1}", string.Concat(events.OfType<ToolCallArgumentsDelta>().Where(d => d.Index == 0).Select(d => d.Fragment)));
    }

    [Fact]
    public void Markers_never_leak_into_content_even_when_split_across_pushes()
    {
        var parser = new ToolCallParser();
        var events = new List<ToolCallParserEvent>();
        foreach (var piece in new[] { "Hello <", "|tool_calls_sec", "tion_begin|><|tool_call_be", "gin|>functions.f:0<|tool_call_argument_begin|>{}<|tool_call_end|", "><|tool_calls_section_end|> bye <|tool_call_end|>" })
        {
            var step = parser.Push(piece);
            Assert.All(step.OfType<ContentDelta>(), c => Assert.DoesNotContain("<|", c.Text));
            events.AddRange(step);
        }
        events.AddRange(parser.Finish());
        Assert.Equal("Hello  bye ", Content(events));
        Assert.Single(Calls(events));
    }

    [Fact]
    public void Partial_marker_text_at_the_end_is_content()
    {
        var events = ToolCallParser.ParseAll("a <|tool_calls_sec");
        Assert.Equal("a <|tool_calls_sec", Content(events));
        Assert.Equal("x <|im_end|> y", Content(ToolCallParser.ParseAll("x <|im_end|> y")));
    }

    [Fact]
    public void Text_after_the_section_is_content_and_a_second_section_is_parsed()
    {
        var events = ToolCallParser.ParseAll($"a{SB}{CB}f:0{AB}{{}}{CE}{SE}b{SB}{CB}g:1{AB}{{}}{CE}{SE}");
        Assert.Equal("ab", Content(events));
        Assert.Equal(["f", "g"], Calls(events).Select(c => c.Name));
        Assert.Equal([0, 1], events.OfType<ToolCallCompleted>().Select(c => c.Index));
    }

    [Fact]
    public void Parser_refuses_push_after_finish()
    {
        var p = new ToolCallParser();
        p.Finish();
        Assert.Throws<InvalidOperationException>(() => p.Push("x"));
    }

    private static readonly string[] Samples =
    [
        $"I'll check.{SB}{CB}functions.get_weather:0{AB}{{\"city\": \"Beijing\"}}{CE}{SE}",
        $"{SB}{CB}functions.a:0{AB}{{}}{CE}{CB}\n search:2\n{AB}  {{\"q\":\"<|x|>\"}}  {CE}{CB}functions.my.ns-tool:1{AB}[1,2]{CE}{SE}after",
        $"x{SB}{CB}functions.f:0{AB}{{\"a\":1}}{CE}{CB}functions.g:1{AB}{{\"b\":",
        $"{ToolCallParser.SectionBeginSingular}{CB}f:0{AB}\"{{\\\"k\\\":[1]}}\"{CE}{CB}g:1{AB}{{bad{CE}",
        "plain text with < and <| and |> and <|im_end|> inside, 中文 😀",
        $"a <{SB}{CB}<|x:0{AB}{{\"t\": \"{CE[..5]}\"}}{CE}{SE}<|tool",
        $"{CB}functions.f:0{AB}{{}}{CE}trailing{SE}{AB}{CE}",
    ];

    /// <summary>Property: any chunking of the same output gives the same (coalesced) events as one-shot parsing.</summary>
    [Fact]
    public void Random_chunkings_give_the_same_result_as_one_shot_parsing()
    {
        var rng = new Random(1234);
        foreach (var sample in Samples)
        {
            var expected = Coalesce(ToolCallParser.ParseAll(sample));
            for (int trial = 0; trial < 200; trial++)
            {
                var parser = new ToolCallParser();
                var events = new List<ToolCallParserEvent>();
                int pos = 0;
                while (pos < sample.Length)
                {
                    int len = Math.Min(sample.Length - pos, rng.Next(0, 12));
                    events.AddRange(parser.Push(sample.Substring(pos, len)));
                    pos += len;
                }
                events.AddRange(parser.Finish());
                Assert.Equal(expected, Coalesce(events));
            }
            foreach (var c in expected.OfType<ToolCallCompleted>())
            {
                Assert.Equal(c.Call.Arguments, string.Concat(expected.OfType<ToolCallArgumentsDelta>().Where(d => d.Index == c.Index).Select(d => d.Fragment)));
            }
        }
    }

    private static List<ToolCallParserEvent> Coalesce(IEnumerable<ToolCallParserEvent> events)
    {
        var r = new List<ToolCallParserEvent>();
        foreach (var e in events)
        {
            if (r.Count > 0 && e is ContentDelta c && r[^1] is ContentDelta p) r[^1] = new ContentDelta(p.Text + c.Text);
            else if (r.Count > 0 && e is ToolCallArgumentsDelta a && r[^1] is ToolCallArgumentsDelta pa && pa.Index == a.Index) r[^1] = new ToolCallArgumentsDelta(a.Index, pa.Fragment + a.Fragment);
            else r.Add(e);
        }
        return r;
    }
}
