using System.Text.Json;
using KimiSharp.Server.Anthropic;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.Tests.Anthropic;

/// <summary>
/// The Anthropic request mapper on Claude Code's real request bodies (fixtures) and on every field agents send
/// today: each is accepted, and those that change something for a local model do what they say.
/// </summary>
public sealed class AnthropicRequestMapperTests
{
    private static readonly ModelDescription Model = new("kimi", ContextLength: 8192, VocabSize: 1000, CreatedUnixSeconds: 0);

    private static AnthropicPlan Map(string json) =>
        AnthropicRequestMapper.Map(JsonSerializer.Deserialize(json, AnthropicJsonContext.Default.MessagesRequest)!, new ServerOptions(), Model);

    /// <summary>A minimal valid body with <paramref name="extra"/> fields added at the top level.</summary>
    private static AnthropicPlan MapWith(string extra, string messages = """[{"role":"user","content":"hi"}]""") =>
        Map($$"""{"model":"claude-opus-5-5","max_tokens":1024,"messages":{{messages}}{{extra}}}""");

    [Fact]
    public void Claude_codes_first_request_maps_system_turns_in_place_and_declares_its_client_tools()
    {
        var plan = Map(ClaudeCodeFixtures.Read("first-request.json"));
        var messages = plan.Prompt.Messages;

        Assert.Equal(["system", "user", "system"], messages.Select(m => m.Role));
        Assert.StartsWith("x-anthropic-billing-header: cc_version=2.1.328", messages[0].Content);
        Assert.Contains("You are a Claude agent", messages[0].Content);
        Assert.EndsWith("Please run: echo kimi-ok", messages[1].Content);
        Assert.StartsWith("# Environment", messages[2].Content); // role "system" inside messages, where Claude Code put it

        var tools = plan.Prompt.Tools!.Select(t => t.Name).ToList();
        Assert.Contains("Bash", tools);
        Assert.Contains("Read", tools);
        Assert.DoesNotContain("DeferredToolPlaceholder", tools); // defer_loading and never loaded by a tool_reference
        Assert.Equal(128000, plan.Options.MaxTokens); // accepted as sent; clamped to the context later
        Assert.True(plan.Stream);
        Assert.False(plan.Prompt.SkipReasoning); // thinking: adaptive
        Assert.True(plan.OmitThinking); // display: omitted
    }

    [Fact]
    public void Claude_codes_tool_result_turn_maps_the_call_and_its_output()
    {
        var messages = Map(ClaudeCodeFixtures.Read("tool-result-request.json")).Prompt.Messages;

        Assert.Equal(["system", "user", "system", "assistant", "tool"], messages.Select(m => m.Role));
        Assert.StartsWith("# Environment", messages[2].Content); // a string this time, not blocks
        var call = Assert.Single(messages[3].ToolCalls!);
        Assert.Equal("Bash", call.Name);
        Assert.Contains("\"command\":\"echo kimi-ok\"", call.Arguments);
        Assert.Equal(call.Id, messages[4].ToolCallId);
        Assert.Equal("kimi-ok", messages[4].Content!.Trim());
    }

    [Fact]
    public void Max_tokens_beyond_the_context_is_accepted_and_clamped_to_what_the_prompt_leaves()
    {
        var plan = MapWith("", """[{"role":"user","content":"hi"}]""");
        var huge = Map("""{"model":"m","max_tokens":128000,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(128000, huge.Options.MaxTokens);
        Assert.Equal(8192 - 100, ContextBudget.Fit(new PreparedPrompt(new int[100], true), huge.Options, 8192).MaxTokens);
        Assert.Equal(1024, ContextBudget.Fit(new PreparedPrompt(new int[100], true), plan.Options, 8192).MaxTokens);
        var overflow = Assert.Throws<ContextOverflowException>(() => ContextBudget.Fit(new PreparedPrompt(new int[8192], true), huge.Options, 8192));
        Assert.Contains("8192 tokens but the context holds 8192", overflow.Message);
    }

    public static TheoryData<string, string> AcceptedFields() => new()
    {
        { "thinking enabled", ""","thinking":{"type":"enabled","budget_tokens":2048}""" },
        { "thinking adaptive", ""","thinking":{"type":"adaptive","display":"summarized"}""" },
        { "thinking disabled", ""","thinking":{"type":"disabled"}""" },
        { "output_config", ""","output_config":{"effort":"medium","format":{"type":"json_schema","schema":{"type":"object"}}}""" },
        { "context_management", ""","context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"},{"type":"clear_tool_uses_20250919","trigger":{"type":"input_tokens","value":100000}}]}""" },
        { "metadata", ""","metadata":{"user_id":"{\"device_id\":\"abc\",\"session_id\":\"s\"}"}""" },
        { "cache_control on system", ""","system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral","ttl":"1h"}}]""" },
        { "container", ""","container":{"id":"container_1","skills":[{"type":"anthropic","skill_id":"pptx","version":"latest"}]}""" },
        { "mcp_servers", ""","mcp_servers":[{"type":"url","url":"https://example.com/sse","name":"example","authorization_token":"t"}]""" },
        { "service_tier", ""","service_tier":"auto","inference_geo":"us" """ },
        { "unknown beta field", ""","future_beta_feature":{"anything":[1,2,3]},"speed":"fast" """ },
    };

    [Theory]
    [MemberData(nameof(AcceptedFields))]
    public void Field_agents_send_is_accepted(string name, string extra)
    {
        var plan = MapWith(extra);
        Assert.Equal("hi", plan.Prompt.Messages.Single(m => m.Role == "user").Content);
        Assert.Equal(name == "thinking disabled", plan.Prompt.SkipReasoning);
        Assert.Equal(1024, plan.Options.MaxTokens);
    }

    [Fact]
    public void Per_message_extras_and_cache_control_on_blocks_are_accepted()
    {
        var plan = MapWith("", """
            [{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]},
             {"role":"system","content":"note","output_config":{"effort":"high"}},
             {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{},"cache_control":{"type":"ephemeral"}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok","cache_control":{"type":"ephemeral"}}]}]
            """);
        Assert.Equal(["user", "system", "assistant", "tool"], plan.Prompt.Messages.Select(m => m.Role));
    }

    [Fact]
    public void System_messages_anywhere_become_system_turns_in_order()
    {
        var messages = MapWith(""","system":"top" """, """
            [{"role":"user","content":"a"},{"role":"system","content":[{"type":"text","text":"mid 1"},{"type":"text","text":"mid 2"}]},
             {"role":"assistant","content":"b"},{"role":"system","content":"late"},{"role":"user","content":"c"}]
            """).Prompt.Messages;
        Assert.Equal(["system", "user", "system", "assistant", "system", "user"], messages.Select(m => m.Role));
        Assert.Equal(["top", "a", "mid 1\nmid 2", "b", "late", "c"], messages.Select(m => m.Content));
    }

    [Fact]
    public void Tool_extras_are_accepted_and_server_tools_are_left_out_of_the_prompt()
    {
        var tools = MapWith("""
            ,"tools":[
              {"name":"Bash","description":"run","input_schema":{"type":"object"},"strict":true,"eager_input_streaming":true,
               "input_examples":[{"command":"ls"}],"cache_control":{"type":"ephemeral"}},
              {"type":"custom","name":"Read","input_schema":{"type":"object"}},
              {"type":"web_search_20250305","name":"web_search","max_uses":5},
              {"type":"web_fetch_20250910","name":"web_fetch"},
              {"type":"code_execution_20250825","name":"code_execution"},
              {"type":"mcp_toolset","mcp_server_name":"example"},
              {"type":"tool_search_tool_regex_20251119","name":"tool_search_tool_regex"}]
            """).Prompt.Tools!;
        Assert.Equal(["Bash", "Read"], tools.Select(t => t.Name));
    }

    [Fact]
    public void Deferred_tool_is_declared_once_a_tool_reference_has_loaded_it()
    {
        const string Tools = """
            ,"tools":[{"name":"ToolSearch","input_schema":{"type":"object"}},
                      {"name":"WebFetch","input_schema":{"type":"object"},"defer_loading":true},
                      {"name":"CronCreate","input_schema":{"type":"object"},"defer_loading":true}]
            """;
        Assert.Equal(["ToolSearch"], MapWith(Tools).Prompt.Tools!.Select(t => t.Name));

        var loaded = MapWith(Tools, """
            [{"role":"user","content":"fetch it"},
             {"role":"assistant","content":[{"type":"tool_use","id":"toolu_s","name":"ToolSearch","input":{"query":"select:WebFetch"}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_s","content":[{"type":"tool_reference","tool_name":"WebFetch"}]}]}]
            """).Prompt;
        Assert.Equal(["ToolSearch", "WebFetch"], loaded.Tools!.Select(t => t.Name));
        Assert.Equal("Tool loaded: WebFetch", loaded.Messages[^1].Content);
    }

    [Fact]
    public void Thinking_blocks_become_the_assistant_turns_reasoning_text_or_signature()
    {
        var signed = CarriedReasoning.Encode("carried reasoning ✓");
        var messages = MapWith("", $$$"""
            [{"role":"user","content":"q1"},
             {"role":"assistant","content":[{"type":"thinking","thinking":"visible reasoning","signature":"anthropic-opaque"},{"type":"text","text":"a1"}]},
             {"role":"user","content":"q2"},
             {"role":"assistant","content":[{"type":"thinking","thinking":"","signature":"{{{signed}}}"},{"type":"redacted_thinking","data":"xyz"},
                                           {"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"r"}]},
             {"role":"assistant","content":[{"type":"thinking","thinking":"","signature":"anthropic-opaque"},{"type":"text","text":"a3"}]}
            ]
            """).Prompt.Messages;
        var assistants = messages.Where(m => m.Role == "assistant").ToList();
        Assert.Equal("visible reasoning", assistants[0].Reasoning);
        Assert.Equal("carried reasoning ✓", assistants[1].Reasoning); // display: omitted — our signature carries it
        Assert.Null(assistants[2].Reasoning); // someone else's signature: nothing to recover
        Assert.Equal("a3", assistants[2].Content);
    }

    [Fact]
    public void Server_tool_blocks_in_history_are_left_out()
    {
        var messages = MapWith("", """
            [{"role":"user","content":"search"},
             {"role":"assistant","content":[{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},
               {"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[]},
               {"type":"code_execution_tool_result","tool_use_id":"srvtoolu_2","content":{}},
               {"type":"mcp_tool_use","id":"mcptoolu_1","name":"m","server_name":"s","input":{}},
               {"type":"text","text":"found it"}]}]
            """).Prompt.Messages;
        Assert.Equal("found it", messages[^1].Content);
        Assert.Null(messages[^1].ToolCalls);
    }

    [Theory]
    [InlineData("""[{"role":"system","content":[{"type":"image","source":{}}]}]""", "", "messages.0.content.0.type")]
    [InlineData("""[{"role":"user","content":"hi"}]""", ""","thinking":{"type":"enabled","budget_tokens":0}""", "thinking.budget_tokens")]
    [InlineData("""[{"role":"user","content":"hi"}]""", ""","max_tokens":0""", "max_tokens")]
    [InlineData("""[{"role":"user","content":[{"type":"tool_result","tool_use_id":"x","content":[{"type":"tool_reference"}]}]}]""", "", "messages.0.content.0.tool_use_id")]
    public void Bad_values_are_still_refused_with_the_field_named(string messages, string extra, string param)
    {
        var body = $$"""{"model":"m","messages":{{messages}}{{(extra.Contains("max_tokens") ? "" : ",\"max_tokens\":16")}}{{extra}}}""";
        var error = Assert.Throws<ApiException>(() => Map(body));
        Assert.Equal(param, error.Param);
    }

    [Fact]
    public void Thinking_signature_round_trips_any_text_and_refuses_foreign_ones()
    {
        foreach (var text in new[] { "", "plain", "多语言 ✓ \n\"quotes\" <think>" })
        {
            Assert.True(CarriedReasoning.TryDecode(CarriedReasoning.Encode(text), out var back));
            Assert.Equal(text, back);
        }

        Assert.False(CarriedReasoning.TryDecode("EqQBCkYIBRgCKkD...", out _));
        Assert.False(CarriedReasoning.TryDecode("kimisharp.reasoning.v1.!!!", out _));
        Assert.False(CarriedReasoning.TryDecode(null, out _));
    }
}
