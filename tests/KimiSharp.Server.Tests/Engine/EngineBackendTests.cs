using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic.Models.Messages;
using KimiSharp.Server.Tests.Support;
using OpenAI.Chat;

namespace KimiSharp.Server.Tests.Engine;

/// <summary>
/// The official SDKs against the real stack (engine, tokenizer, Kimi template, streaming decoder, tool-call
/// parser); only the model's next-token choice is scripted, emitting Kimi's native tool-call markers.
/// </summary>
public sealed class EngineBackendTests(EngineServerFixture fixture) : IClassFixture<EngineServerFixture>
{
    private static readonly ChatTool WeatherTool = ChatTool.CreateFunctionTool("get_weather", "Weather for a city",
        BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}"""));

    private static readonly Tool AnthropicWeatherTool = new()
    {
        Name = "get_weather",
        Description = "Weather for a city",
        InputSchema = new InputSchema { Properties = new Dictionary<string, JsonElement> { ["city"] = JsonDocument.Parse("""{"type":"string"}""").RootElement } },
    };

    [Fact]
    public async Task OpenAi_tool_call_is_parsed_from_kimi_markers()
    {
        ChatCompletion completion = await fixture.OpenAiChat().CompleteChatAsync(
            [new UserChatMessage("What is the weather in Paris?")], new ChatCompletionOptions { Tools = { WeatherTool } });

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        Assert.Equal("I'll check.", completion.Content[0].Text);
        var call = Assert.Single(completion.ToolCalls);
        Assert.StartsWith("call_", call.Id);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("""{"city": "Paris"}""", call.FunctionArguments.ToString());
        Assert.Contains("tool_declare", fixture.Model.LastPrompt); // the tools reached the template
    }

    [Fact]
    public async Task OpenAi_streamed_tool_call_matches_the_non_streamed_one()
    {
        var content = new StringBuilder();
        var arguments = new StringBuilder();
        string? name = null;
        ChatFinishReason? finish = null;
        await foreach (var update in fixture.OpenAiChat().CompleteChatStreamingAsync(
            [new UserChatMessage("What is the weather in Paris?")], new ChatCompletionOptions { Tools = { WeatherTool } }))
        {
            foreach (var part in update.ContentUpdate)
                content.Append(part.Text);
            foreach (var tool in update.ToolCallUpdates)
            {
                name ??= tool.FunctionName;
                arguments.Append(tool.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal("I'll check.", content.ToString());
        Assert.Equal("get_weather", name);
        Assert.Equal("""{"city": "Paris"}""", arguments.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    [Fact]
    public async Task OpenAi_tool_result_is_rendered_with_kimi_ids_and_answered()
    {
        var client = fixture.OpenAiChat();
        var options = new ChatCompletionOptions { Tools = { WeatherTool } };
        var history = new List<ChatMessage> { new UserChatMessage("What is the weather in Paris?") };
        ChatCompletion first = await client.CompleteChatAsync(history, options);
        history.Add(new AssistantChatMessage(first));
        history.Add(new ToolChatMessage(first.ToolCalls[0].Id, """{"sky":"sunny"}"""));

        ChatCompletion answer = await client.CompleteChatAsync(history, options);

        Assert.Equal("It is sunny in Paris.", answer.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
        var prompt = fixture.Model.LastPrompt!;
        Assert.Contains("<|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>", prompt);
        Assert.Contains("## Return of functions.get_weather:0", prompt);
        Assert.DoesNotContain(first.ToolCalls[0].Id, prompt); // client ids never reach the model
    }

    [Fact]
    public async Task Anthropic_tool_use_round_trip_through_the_engine()
    {
        var client = fixture.Anthropic();
        var first = await client.Messages.Create(new MessageCreateParams
        {
            Model = "kimi", MaxTokens = 200, Tools = [AnthropicWeatherTool],
            Messages = [new UserMessageParam("What is the weather in Paris?")],
        });
        Assert.Equal(StopReason.ToolUse, (StopReason)first.StopReason!);
        Assert.True(first.Content[0].TryPickText(out var text));
        Assert.Equal("I'll check.", text!.Text);
        Assert.True(first.Content[1].TryPickToolUse(out var toolUse));
        Assert.Equal("Paris", toolUse!.Input["city"].GetString());

        var answer = await client.Messages.Create(new MessageCreateParams
        {
            Model = "kimi", MaxTokens = 200, Tools = [AnthropicWeatherTool],
            Messages =
            [
                new UserMessageParam("What is the weather in Paris?"),
                new AssistantMessageParam(new List<ContentBlockParam>
                {
                    new TextBlockParam("I'll check."),
                    new ToolUseBlockParam { ID = toolUse.ID, Name = toolUse.Name, Input = toolUse.Input },
                }),
                new UserMessageParam(new List<ContentBlockParam> { new ToolResultBlockParam(toolUse.ID) { Content = "sunny" } }),
            ],
        });

        Assert.True(answer.Content[0].TryPickText(out var final));
        Assert.Equal("It is sunny in Paris.", final!.Text);
        Assert.Equal(StopReason.EndTurn, (StopReason)answer.StopReason!);
        Assert.Contains("## Return of functions.get_weather:0", fixture.Model.LastPrompt);
    }

    [Fact]
    public async Task Anthropic_streamed_tool_use_joins_to_the_arguments()
    {
        var json = new StringBuilder();
        var text = new StringBuilder();
        await foreach (var item in fixture.Anthropic().Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "kimi", MaxTokens = 200, Tools = [AnthropicWeatherTool],
            Messages = [new UserMessageParam("What is the weather in Paris?")],
        }))
        {
            if (item.TryPickContentBlockDelta(out var delta))
            {
                if (delta!.Delta.TryPickInputJson(out var piece)) json.Append(piece!.PartialJson);
                if (delta.Delta.TryPickText(out var t)) text.Append(t!.Text);
            }
        }

        Assert.Equal("I'll check.", text.ToString());
        Assert.Equal("""{"city": "Paris"}""", json.ToString());
    }

    [Fact]
    public async Task Text_reply_with_stop_string_max_tokens_and_usage()
    {
        var client = fixture.OpenAiChat();
        ChatCompletion full = await client.CompleteChatAsync([new UserChatMessage("Hi!")]);
        Assert.Equal("Hello from the scripted model, nice to meet you.", full.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, full.FinishReason);
        Assert.True(full.Usage.InputTokenCount > 10);

        ChatCompletion stopped = await client.CompleteChatAsync([new UserChatMessage("Hi!")], new ChatCompletionOptions { StopSequences = { "nice" } });
        Assert.Equal("Hello from the scripted model, ", stopped.Content[0].Text);

        ChatCompletion truncated = await client.CompleteChatAsync([new UserChatMessage("Hi!")], new ChatCompletionOptions { MaxOutputTokenCount = 3 });
        Assert.Equal(ChatFinishReason.Length, truncated.FinishReason);
        Assert.Equal(3, truncated.Usage.OutputTokenCount);
        Assert.StartsWith(truncated.Content[0].Text, full.Content[0].Text);
    }

    [Fact]
    public async Task Sixteen_concurrent_streams_through_the_engine_all_complete()
    {
        var client = fixture.OpenAiChat();
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            var text = new StringBuilder();
            var options = new ChatCompletionOptions { Tools = { WeatherTool } };
            var prompt = i % 2 == 0 ? $"Hi number {i}" : $"Weather number {i}? weather";
            ChatFinishReason? finish = null;
            var arguments = new StringBuilder();
            await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(prompt)], options))
            {
                foreach (var part in update.ContentUpdate) text.Append(part.Text);
                foreach (var tool in update.ToolCallUpdates) arguments.Append(tool.FunctionArgumentsUpdate?.ToString());
                finish ??= update.FinishReason;
            }

            return (i, Text: text.ToString(), Arguments: arguments.ToString(), finish);
        }));

        foreach (var (i, text, arguments, finish) in results)
        {
            if (i % 2 == 0)
            {
                Assert.Equal("Hello from the scripted model, nice to meet you.", text);
                Assert.Equal(ChatFinishReason.Stop, finish);
            }
            else
            {
                Assert.Equal("I'll check.", text);
                Assert.Equal("""{"city": "Paris"}""", arguments);
                Assert.Equal(ChatFinishReason.ToolCalls, finish);
            }
        }
    }

    [Fact]
    public async Task Tool_call_cut_off_by_max_tokens_is_left_out_of_the_reply()
    {
        int cut = fixture.Tokenizer.Encode(ScriptedLanguageModel.ToolScript[..ScriptedLanguageModel.ToolScript.IndexOf("\"ci", StringComparison.Ordinal)], parseSpecial: true).Length + 1;
        ChatCompletion completion = await fixture.OpenAiChat().CompleteChatAsync([new UserChatMessage("What is the weather in Paris?")],
            new ChatCompletionOptions { Tools = { WeatherTool }, MaxOutputTokenCount = cut });

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Empty(completion.ToolCalls);
        Assert.Equal("I'll check.", completion.Content[0].Text);
    }

    [Fact]
    public async Task Repeated_prompt_reports_cached_tokens_in_every_api()
    {
        var client = fixture.OpenAiChat();
        ChatCompletion first = await client.CompleteChatAsync([new UserChatMessage("Hi! Tell me about caching.")]);
        ChatCompletion second = await client.CompleteChatAsync([new UserChatMessage("Hi! Tell me about caching.")]);
        Assert.Equal(first.Usage.InputTokenCount, second.Usage.InputTokenCount);
        Assert.Equal(second.Usage.InputTokenCount - 1, second.Usage.InputTokenDetails.CachedTokenCount); // the last prompt token is always evaluated

        var anthropic = fixture.Anthropic();
        var request = new MessageCreateParams { Model = "kimi", MaxTokens = 50, Messages = [new UserMessageParam("Hello again, cache.")] };
        var one = await anthropic.Messages.Create(request);
        var two = await anthropic.Messages.Create(request);
        // Anthropic counts cache reads apart from input_tokens; the total is the whole prompt both times.
        Assert.Equal(one.Usage.InputTokens + one.Usage.CacheReadInputTokens, two.Usage.InputTokens + two.Usage.CacheReadInputTokens);
        Assert.Equal(1, two.Usage.InputTokens);

        // Responses: input_tokens counts the whole prompt, input_tokens_details.cached_tokens the reused part.
        using var http = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        async Task<JsonElement> Respond()
        {
            var reply = await http.PostAsync("/v1/responses", new StringContent("""{"model":"k","input":"Responses cache, please.","max_output_tokens":8}""", Encoding.UTF8, "application/json"));
            string body = await reply.Content.ReadAsStringAsync();
            Assert.True(reply.StatusCode == HttpStatusCode.OK, body);
            return JsonDocument.Parse(body).RootElement.GetProperty("usage");
        }
        var cold = await Respond();
        var warm = await Respond();
        // The template's opening may already be cached from the requests above; the new text is not.
        Assert.InRange(cold.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32(), 0, cold.GetProperty("input_tokens").GetInt32() - 5);
        Assert.Equal(cold.GetProperty("input_tokens").GetInt32(), warm.GetProperty("input_tokens").GetInt32());
        Assert.Equal(warm.GetProperty("input_tokens").GetInt32() - 1, warm.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32());
    }

    [Fact]
    public async Task Tool_choice_none_bans_the_tool_call_section()
    {
        ChatCompletion completion = await fixture.OpenAiChat().CompleteChatAsync([new UserChatMessage("What is the weather in Paris?")],
            new ChatCompletionOptions { Tools = { WeatherTool }, ToolChoice = ChatToolChoice.CreateNoneChoice(), MaxOutputTokenCount = 16 });
        Assert.Empty(completion.ToolCalls);
        Assert.NotEqual(ChatFinishReason.ToolCalls, completion.FinishReason);
    }

    [Fact]
    public async Task Client_disconnect_frees_the_engine_sequence()
    {
        using var client = new HttpClient { BaseAddress = fixture.Server.BaseAddress };
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"k","stream":true,"messages":[{"role":"user","content":"go on forever"}]}""", Encoding.UTF8, "application/json"),
        };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[512];
        int read = 0;
        while (read < 1000)
            read += await stream.ReadAsync(buffer);
        response.Dispose();

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (fixture.Backend.Engine.Stats.ActiveSequences > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the sequence was not freed after the client left");
            await Task.Delay(5);
        }

        Assert.Equal(0, fixture.Backend.InFlight);
        Assert.Equal(0, fixture.Backend.Engine.Stats.KvBlocksSequences);   // only the prefix cache may keep blocks
    }
}
