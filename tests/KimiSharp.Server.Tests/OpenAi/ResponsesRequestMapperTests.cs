using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using KimiSharp.Server.OpenAi.Responses;

namespace KimiSharp.Server.Tests.OpenAi;

/// <summary>
/// <see cref="ResponsesRequestMapper"/> field by field, starting from a request body Codex CLI 0.169.0 really
/// sent (Fixtures/codex-0.169.0-responses-request.json: developer messages, reasoning, an assistant preamble,
/// function calls with their outputs, a namespaced call, function/namespace/web_search tools).
/// </summary>
public sealed class ResponsesRequestMapperTests
{
    private static readonly ModelDescription Model = new("kimi-test", ContextLength: 4096, VocabSize: 256, CreatedUnixSeconds: 0);
    private static readonly ServerOptions Server = new();

    internal static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "OpenAi", "Fixtures", name));

    private static ResponsesPlan Map(string json, IReadOnlyList<PromptMessage>? previous = null) =>
        ResponsesRequestMapper.Map(JsonSerializer.Deserialize(json, ResponsesJsonContext.Default.ResponsesRequest)!, Server, Model, previous ?? []);

    private static ApiException Invalid(string json)
    {
        var error = Assert.Throws<ApiException>(() => Map(json));
        Assert.Equal(ApiErrorKind.InvalidRequest, error.Kind);
        return error;
    }

    [Fact]
    public void Codex_request_maps_every_item_to_the_conversation_it_means()
    {
        var plan = Map(Fixture("codex-0.169.0-responses-request.json"));
        var m = plan.Prompt.Messages;

        Assert.Equal(["system", "system", "user", "user", "assistant", "tool", "assistant", "tool"], m.Select(x => x.Role));
        Assert.StartsWith("You are a coding agent running in the Codex CLI", m[0].Content); // developer → system
        Assert.StartsWith("<skills_instructions>", m[1].Content);
        Assert.StartsWith("<environment_context>", m[2].Content);
        Assert.Equal("Run echo kimi-ok", m[3].Content);

        // The reasoning item (another server's encrypted content, a summary) gives no reasoning; the preamble and
        // the call after it are one assistant turn.
        Assert.Equal("Running it now.", m[4].Content);
        Assert.Null(m[4].Reasoning);
        var exec = Assert.Single(m[4].ToolCalls!);
        Assert.Equal(("call_a1", "exec_command", """{"cmd":"echo kimi-ok"}"""), (exec.Id, exec.Name, exec.Arguments));
        Assert.Equal(("call_a1", "exec_command"), (m[5].ToolCallId, m[5].Name));
        Assert.Contains("kimi-ok", m[5].Content);

        // A namespaced call is the flat name the model was shown.
        Assert.Null(m[6].Content);
        Assert.Equal("multi_agent_v1__close_agent", Assert.Single(m[6].ToolCalls!).Name);
        Assert.Equal(("call_b2", "multi_agent_v1__close_agent"), (m[7].ToolCallId, m[7].Name));

        Assert.Equal(plan.Prompt.Messages, plan.Conversation); // no instructions field: nothing to leave out
        Assert.True(plan.Stream);
        Assert.False(plan.Store);
        Assert.False(plan.SingleToolCall); // parallel_tool_calls: true
        Assert.Equal(ToolChoice.Auto, plan.Prompt.ToolChoice);
        Assert.Equal("auto", plan.Echo.Reasoning.Summary);
        Assert.True(plan.CarryReasoning); // include: reasoning.encrypted_content
        Assert.Equal("01a252b1-27c2-7b92-9eb5-894142e7342d", plan.Echo.PromptCacheKey);
        Assert.Equal(Model.ContextLength, plan.Options.MaxTokens);
    }

    [Fact]
    public void Codex_tools_declare_functions_and_namespace_members_and_leave_out_web_search()
    {
        var plan = Map(Fixture("codex-0.169.0-responses-request.json"));
        var names = plan.Prompt.Tools!.Select(t => t.Name).ToList();

        Assert.Equal(["exec_command", "write_stdin", "request_user_input", "view_image",
            "multi_agent_v1__close_agent", "multi_agent_v1__resume_agent", "multi_agent_v1__send_input", "multi_agent_v1__spawn_agent", "multi_agent_v1__wait_agent",
            "get_goal", "create_goal", "update_goal"], names);
        var exec = plan.Prompt.Tools![0];
        Assert.Equal("Runs a command in a PTY, returning output or a session ID for ongoing interaction.", exec.Description);
        Assert.Equal("object", JsonDocument.Parse(exec.ParametersJson!).RootElement.GetProperty("type").GetString());

        Assert.Equal(("close_agent", "multi_agent_v1"), plan.Tools.ClientName("multi_agent_v1__close_agent"));
        Assert.Equal(("exec_command", (string?)null), plan.Tools.ClientName("exec_command"));
        Assert.Equal(9, plan.Echo.Tools.Count); // echoed as sent: the namespace as one tool, the hosted web_search included
    }

    [Fact]
    public void String_input_is_one_user_message_after_the_instructions()
    {
        var plan = Map("""{"model":"kimi","instructions":"Be brief.","input":"Hello"}""");
        Assert.Equal([new PromptMessage("system", "Be brief."), new PromptMessage("user", "Hello")], plan.Prompt.Messages);
        Assert.Equal([new PromptMessage("user", "Hello")], plan.Conversation); // instructions are not carried over
        Assert.Equal("Be brief.", plan.Echo.Instructions);
        Assert.True(plan.Store); // OpenAI's default
        Assert.False(plan.Stream);
        Assert.Null(plan.Prompt.Tools);
    }

    [Fact]
    public void Messages_accept_easy_shape_text_parts_and_every_role()
    {
        var plan = Map("""
            {"input":[
              {"role":"system","content":"S"},
              {"role":"developer","content":[{"type":"input_text","text":"D"}]},
              {"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_text","text":"b"}]},
              {"type":"message","role":"assistant","content":[{"type":"output_text","text":"A","annotations":[]},{"type":"refusal","refusal":"!"}]}
            ]}
            """);
        Assert.Equal([new PromptMessage("system", "S"), new PromptMessage("system", "D"), new PromptMessage("user", "ab"), new PromptMessage("assistant", "A!")],
            plan.Prompt.Messages);
    }

    [Fact]
    public void Function_calls_join_one_assistant_turn_and_outputs_take_their_names()
    {
        var plan = Map("""
            {"input":[
              {"role":"user","content":"go"},
              {"type":"function_call","call_id":"c1","name":"a","arguments":"{\"x\":1}"},
              {"type":"function_call","call_id":"c2","name":"b","namespace":"ns","arguments":""},
              {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"two"},{"type":"input_image","image_url":"data:image/png;base64,AA"}]},
              {"type":"function_call_output","call_id":"c1","output":"one"}
            ]}
            """);
        var m = plan.Prompt.Messages;
        Assert.Equal(["user", "assistant", "tool", "tool"], m.Select(x => x.Role));
        Assert.Equal([new PromptToolCall("c1", "a", """{"x":1}"""), new PromptToolCall("c2", "ns__b", "{}")], m[1].ToolCalls);
        Assert.Equal(("c2", "ns__b", "two[image omitted: this model reads text only]"), (m[2].ToolCallId, m[2].Name, m[2].Content));
        Assert.Equal(("c1", "a", "one"), (m[3].ToolCallId, m[3].Name, m[3].Content));
    }

    [Fact]
    public void Previous_conversation_comes_first_and_its_calls_can_be_answered()
    {
        IReadOnlyList<PromptMessage> previous = [new("user", "weather?"), new("assistant", null, [new PromptToolCall("call_9", "get_weather", "{}")])];
        var plan = Map("""{"instructions":"New rules.","input":[{"type":"function_call_output","call_id":"call_9","output":"sunny"}]}""", previous);
        Assert.Equal(["system", "user", "assistant", "tool"], plan.Prompt.Messages.Select(x => x.Role));
        Assert.Equal("New rules.", plan.Prompt.Messages[0].Content);
        Assert.Equal(("call_9", "get_weather", "sunny"), (plan.Conversation[2].ToolCallId, plan.Conversation[2].Name, plan.Conversation[2].Content));
    }

    [Fact]
    public void Hosted_tool_items_are_dropped_and_foreign_reasoning_is_not_read_back()
    {
        var plan = Map("""
            {"input":[
              {"role":"user","content":"q"},
              {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"think"}],"encrypted_content":"x"},
              {"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"q"}},
              {"type":"custom_tool_call","call_id":"ct","name":"apply_patch","input":"*** Begin Patch"},
              {"type":"custom_tool_call_output","call_id":"ct","output":"ok"}
            ]}
            """);
        Assert.Equal([new PromptMessage("user", "q")], plan.Prompt.Messages);
    }

    [Fact]
    public void Reasoning_items_go_with_the_assistant_turn_that_follows_them()
    {
        var carried = CarriedReasoning.Encode("Check the weather first.");
        var plan = Map($$"""
            {"input":[
              {"role":"user","content":"weather?"},
              {"type":"reasoning","summary":[],"encrypted_content":"{{carried}}"},
              {"type":"function_call","call_id":"c1","name":"get_weather","arguments":"{}"},
              {"type":"function_call_output","call_id":"c1","output":"sunny"},
              {"type":"reasoning","summary":[{"type":"summary_text","text":"a summary"}],"content":[{"type":"reasoning_text","text":"It is "},{"type":"reasoning_text","text":"sunny."}]},
              {"role":"assistant","content":[{"type":"output_text","text":"Sunny."}]},
              {"role":"user","content":"and tomorrow?"},
              {"type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"left without an answer"}]},
              {"role":"user","content":"hello?"}
            ]}
            """);
        var m = plan.Prompt.Messages;
        Assert.Equal(["user", "assistant", "tool", "assistant", "user", "user"], m.Select(x => x.Role));
        Assert.Equal("Check the weather first.", m[1].Reasoning); // our encrypted_content carries the text (Codex sends nothing else)
        Assert.Equal("It is sunny.", m[3].Reasoning);              // reasoning_text parts; the summary is not the model's words
        Assert.All(m.Where(x => x.Role != "assistant"), x => Assert.Null(x.Reasoning));
    }

    [Fact]
    public void Reasoning_before_a_call_that_joins_an_assistant_message_goes_with_that_turn()
    {
        var plan = Map("""
            {"input":[
              {"role":"user","content":"q"},
              {"type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"first"}]},
              {"role":"assistant","content":"Looking."},
              {"type":"reasoning","summary":[],"content":[{"type":"reasoning_text","text":"second"}]},
              {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"}
            ]}
            """);
        var turn = plan.Prompt.Messages[1];
        Assert.Equal(("Looking.", "first\n\nsecond"), (turn.Content, turn.Reasoning));
        Assert.Single(turn.ToolCalls!);
    }

    [Theory]
    [InlineData("none", true)]
    [InlineData("low", false)]
    [InlineData(null, false)]
    public void Reasoning_effort_none_asks_a_thinking_model_to_skip_its_reasoning(string? effort, bool skip)
    {
        var reasoning = effort is null ? "" : $$""","reasoning":{"effort":"{{effort}}"}""";
        Assert.Equal(skip, Map($$"""{"input":"x"{{reasoning}}}""").Prompt.SkipReasoning);
    }

    [Theory]
    [InlineData("""{"input":[{"type":"function_call_output","call_id":"nope","output":"x"}]}""", "input[0].call_id")]
    [InlineData("""{"input":[{"type":"function_call","name":"a"}]}""", "input[0].call_id")]
    [InlineData("""{"input":[{"type":"function_call","call_id":"c"}]}""", "input[0].name")]
    [InlineData("""{"input":[{"role":"tool","content":"x"}]}""", "input[0].role")]
    [InlineData("""{"input":[{"role":"user"}]}""", "input[0].content")]
    [InlineData("""{"input":[{"role":"user","content":[{"type":"input_image","image_url":"x"}]}]}""", "input[0].content[0].type")]
    [InlineData("""{"input":[{"role":"user","content":[{"type":"input_text"}]}]}""", "input[0].content[0].text")]
    [InlineData("""{"input":[{"type":"item_reference","id":"msg_1"}]}""", "input[0].type")]
    [InlineData("""{"input":[{"type":"telepathy"}]}""", "input[0].type")]
    [InlineData("""{"input":[3]}""", "input[0]")]
    [InlineData("""{"input":{"role":"user"}}""", "input")]
    [InlineData("""{"input":[{"type":"reasoning","summary":"x"}]}""", "input[0].summary")]
    [InlineData("""{"input":[{"type":"reasoning","summary":[],"content":"x"}]}""", "input[0].content")]
    [InlineData("""{"input":[{"type":"reasoning","summary":[],"content":[{"type":"output_text","text":"x"}]}]}""", "input[0].content[0].type")]
    [InlineData("""{"input":[{"type":"reasoning","summary":[],"encrypted_content":7}]}""", "input[0].encrypted_content")]
    [InlineData("""{}""", "input")]
    public void Bad_input_is_refused_naming_the_field(string json, string param) => Assert.Equal(param, Invalid(json).Param);

    [Fact]
    public void Namespace_names_are_joined_like_codex_flattens_them()
    {
        var plan = Map("""
            {"input":"x","tools":[
              {"type":"namespace","name":"mcp__calendar__","description":"Calendar","tools":[
                {"type":"function","name":"__create_event","parameters":{"type":"object","properties":{}}},
                {"type":"custom","name":"freeform"}]},
              {"type":"function","name":"plain","description":"P","strict":true},
              {"type":"web_search","external_web_access":false},
              {"type":"file_search","vector_store_ids":[]},
              {"type":"computer_use_preview"},
              {"type":"custom","name":"apply_patch"}
            ]}
            """);
        Assert.Equal(["mcp__calendar__create_event", "plain"], plan.Prompt.Tools!.Select(t => t.Name));
        Assert.Equal(("__create_event", "mcp__calendar__"), plan.Tools.ClientName("mcp__calendar__create_event"));
        Assert.Equal("P", plan.Prompt.Tools![1].Description);
    }

    [Fact]
    public void Only_hosted_tools_declare_nothing_and_nothing_can_be_called()
    {
        var plan = Map("""{"input":"x","tools":[{"type":"web_search"}],"tool_choice":"auto"}""");
        Assert.Null(plan.Prompt.Tools);
        Assert.Equal(ToolChoiceMode.None, plan.Prompt.ToolChoice.Mode);
        Assert.Equal(ToolChoiceMode.None, Map("""{"input":"x"}""").Prompt.ToolChoice.Mode);
    }

    [Theory]
    [InlineData("""[{"type":"function","name":"a"},{"type":"function","name":"a"}]""", "tools[1].name")]
    [InlineData("""[{"type":"function","name":"has space"}]""", "tools[0].name")]
    [InlineData("""[{"type":"function"}]""", "tools[0].name")]
    [InlineData("""[{"name":"a"}]""", "tools[0].type")]
    [InlineData("""[{"type":"function","name":"a","parameters":"{}"}]""", "tools[0].parameters")]
    [InlineData("""[{"type":"function","name":"a","strict":"yes"}]""", "tools[0].strict")]
    [InlineData("""[{"type":"namespace","name":"ns"}]""", "tools[0].tools")]
    [InlineData("""[{"type":"namespace","name":"ns","tools":[{"type":"function","name":"a b"}]}]""", "tools[0].tools[0].name")]
    [InlineData("""["function"]""", "tools[0]")]
    public void Bad_tools_are_refused_naming_the_field(string tools, string param) =>
        Assert.Equal(param, Invalid($$"""{"input":"x","tools":{{tools}}}""").Param);

    private const string TwoTools = """[{"type":"function","name":"a"},{"type":"namespace","name":"ns","tools":[{"type":"function","name":"b"}]}]""";

    [Theory]
    [InlineData("\"auto\"", ToolChoiceMode.Auto, null)]
    [InlineData("\"none\"", ToolChoiceMode.None, null)]
    [InlineData("\"required\"", ToolChoiceMode.Required, null)]
    [InlineData("""{"type":"function","name":"a"}""", ToolChoiceMode.Named, "a")]
    [InlineData("""{"type":"function","name":"b","namespace":"ns"}""", ToolChoiceMode.Named, "ns__b")]
    [InlineData("""{"type":"function","name":"ns__b"}""", ToolChoiceMode.Named, "ns__b")]
    [InlineData("""{"type":"web_search_preview"}""", ToolChoiceMode.Auto, null)]
    [InlineData("null", ToolChoiceMode.Auto, null)]
    public void Tool_choice_maps_every_form(string choice, ToolChoiceMode mode, string? name)
    {
        var plan = Map($$"""{"input":"x","tools":{{TwoTools}},"tool_choice":{{choice}}}""");
        Assert.Equal(new ToolChoice(mode, name), plan.Prompt.ToolChoice);
        Assert.Equal(2, plan.Prompt.Tools!.Count);
    }

    [Fact]
    public void Allowed_tools_narrow_the_declared_tools()
    {
        var plan = Map($$$"""{"input":"x","tools":{{{TwoTools}}},"tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"b","namespace":"ns"},{"type":"web_search"}]}}""");
        Assert.Equal(ToolChoiceMode.Required, plan.Prompt.ToolChoice.Mode);
        Assert.Equal("ns__b", Assert.Single(plan.Prompt.Tools!).Name);
        Assert.Equal(("b", "ns"), plan.Tools.ClientName("ns__b"));
    }

    [Theory]
    [InlineData(TwoTools, "\"sometimes\"", "tool_choice")]
    [InlineData(TwoTools, """{"type":"function","name":"zzz"}""", "tool_choice.name")]
    [InlineData(TwoTools, """{"type":"function"}""", "tool_choice.name")]
    [InlineData(TwoTools, "3", "tool_choice")]
    [InlineData("[]", "\"required\"", "tool_choice")]
    [InlineData(TwoTools, """{"type":"allowed_tools","mode":"none","tools":[]}""", "tool_choice.mode")]
    [InlineData(TwoTools, """{"type":"allowed_tools","mode":"auto"}""", "tool_choice.tools")]
    public void Bad_tool_choice_is_refused_naming_the_field(string tools, string choice, string param) =>
        Assert.Equal(param, Invalid($$"""{"input":"x","tools":{{tools}},"tool_choice":{{choice}}}""").Param);

    [Fact]
    public void Parallel_tool_calls_false_keeps_one_call()
    {
        Assert.True(Map("""{"input":"x","parallel_tool_calls":false}""").SingleToolCall);
        Assert.False(Map("""{"input":"x","parallel_tool_calls":false}""").Echo.ParallelToolCalls);
    }

    [Fact]
    public void Sampling_fields_map_to_generation_options()
    {
        var plan = Map("""{"input":"x","temperature":0.25,"top_p":0.5,"max_output_tokens":77,"stop":["END","###"],"seed":42}""");
        Assert.Equal(0.25f, plan.Options.Temperature);
        Assert.Equal(0.5f, plan.Options.TopP);
        Assert.Equal(77, plan.Options.MaxTokens);
        Assert.Equal(42, plan.Options.Seed);
        Assert.Equal(["END", "###"], plan.Stops);
        Assert.Equal((0.25, 0.5, 77L), (plan.Echo.Temperature, plan.Echo.TopP, plan.Echo.MaxOutputTokens));

        var defaults = Map("""{"input":"x","stop":"END"}""");
        Assert.Equal(Server.DefaultTemperature, defaults.Options.Temperature);
        Assert.Equal(0.6, defaults.Echo.Temperature);
        Assert.Equal(["END"], defaults.Stops);
    }

    [Fact]
    public void Max_output_tokens_beyond_the_context_is_clamped_not_refused()
    {
        Assert.Equal(Model.ContextLength, Map("""{"input":"x","max_output_tokens":128000}""").Options.MaxTokens);
        Assert.Equal(128000, Map("""{"input":"x","max_output_tokens":128000}""").Echo.MaxOutputTokens);
    }

    [Theory]
    [InlineData("""{"input":"x","max_output_tokens":0}""", "max_output_tokens")]
    [InlineData("""{"input":"x","temperature":2.5}""", "temperature")]
    [InlineData("""{"input":"x","top_p":-0.1}""", "top_p")]
    [InlineData("""{"input":"x","stop":[""]}""", "stop")]
    [InlineData("""{"input":"x","stop":5}""", "stop")]
    [InlineData("""{"input":"x","background":true}""", "background")]
    [InlineData("""{"input":"x","conversation":"conv_1"}""", "conversation")]
    [InlineData("""{"input":"x","truncation":"middle"}""", "truncation")]
    [InlineData("""{"input":"x","top_logprobs":21}""", "top_logprobs")]
    [InlineData("""{"input":"x","max_tool_calls":0}""", "max_tool_calls")]
    [InlineData("""{"input":"x","reasoning":"high"}""", "reasoning")]
    [InlineData("""{"input":"x","reasoning":{"effort":1}}""", "reasoning.effort")]
    [InlineData("""{"input":"x","include":"reasoning.encrypted_content"}""", "include")]
    [InlineData("""{"input":"x","include":[1]}""", "include[0]")]
    [InlineData("""{"input":"x","metadata":[]}""", "metadata")]
    [InlineData("""{"input":"x","client_metadata":"x"}""", "client_metadata")]
    [InlineData("""{"input":"x","text":"json"}""", "text")]
    [InlineData("""{"input":"x","text":{"verbosity":"loud"}}""", "text.verbosity")]
    [InlineData("""{"input":"x","text":{"format":{"type":"xml"}}}""", "text.format.type")]
    [InlineData("""{"input":"x","text":{"format":{"type":"json_schema","schema":{}}}}""", "text.format.name")]
    [InlineData("""{"input":"x","text":{"format":{"type":"json_schema","name":"n"}}}""", "text.format.schema")]
    [InlineData("""{"input":"x","text":{"format":{"type":"json_schema","name":"n","schema":[]}}}""", "text.format.schema")]
    [InlineData("""{"input":"x","text":{"format":{"type":"json_schema","name":"n","schema":{},"strict":"y"}}}""", "text.format.strict")]
    public void Bad_fields_are_refused_naming_the_field(string json, string param) => Assert.Equal(param, Invalid(json).Param);

    [Fact]
    public void Accepted_fields_are_echoed_or_ignored_without_error()
    {
        var plan = Map("""
            {"input":"x","store":true,"reasoning":{"effort":"high","summary":"detailed"},"include":["reasoning.encrypted_content","message.output_text.logprobs"],
             "prompt_cache_key":"k1","client_metadata":{"a":"b"},"metadata":{"team":"x"},"truncation":"auto","user":"u1","safety_identifier":"s",
             "service_tier":"auto","max_tool_calls":3,"top_logprobs":2,"stream_options":{"include_obfuscation":false},"text":{"verbosity":"low"}}
            """);
        Assert.Equal(new ReasoningEcho("high", "detailed"), plan.Echo.Reasoning);
        Assert.Equal(("k1", "auto", "u1"), (plan.Echo.PromptCacheKey, plan.Echo.Truncation, plan.Echo.User));
        Assert.Equal("x", plan.Echo.Metadata.GetProperty("team").GetString());
        Assert.Equal(ResponseTextFormat.Text, plan.TextFormat);
        Assert.Equal((true, 2), (plan.Options.Logprobs, plan.Options.TopLogprobs)); // include: message.output_text.logprobs
        Assert.False(Map("""{"input":"x","include":["reasoning.encrypted_content"]}""").Options.Logprobs);
    }

    [Fact]
    public void Json_schema_text_format_is_validated_and_handed_on()
    {
        var plan = Map("""{"input":"x","text":{"format":{"type":"json_schema","name":"answer","schema":{"type":"object","properties":{"n":{"type":"integer"}}},"strict":true}}}""");
        Assert.Equal(("json_schema", "answer", true), (plan.TextFormat.Type, plan.TextFormat.Name, plan.TextFormat.Strict));
        Assert.Equal("integer", JsonDocument.Parse(plan.TextFormat.SchemaJson!).RootElement.GetProperty("properties").GetProperty("n").GetProperty("type").GetString());
        Assert.Equal("json_schema", plan.Echo.TextFormat.GetProperty("type").GetString());
        Assert.Equal("json_object", Map("""{"input":"x","text":{"format":{"type":"json_object"}}}""").TextFormat.Type);
    }
}
