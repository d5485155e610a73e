#pragma warning disable OPENAI001 // Seed is marked experimental in the SDK; the server supports it
using System.ClientModel;
using System.Text;
using System.Text.Json;
using KimiSharp.Server.Tests.Support;
using OpenAI.Chat;

namespace KimiSharp.Server.Tests.OpenAi;

/// <summary>The official OpenAI .NET SDK (2.15.0, unmodified) against a real server.</summary>
public sealed class OpenAiSdkChatTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly ChatTool WeatherTool = ChatTool.CreateFunctionTool(
        "get_weather", "Current weather for a city",
        BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));

    [Fact]
    public async Task Chat_returns_text_finish_reason_and_usage_when_not_streaming()
    {
        var client = fixture.OpenAiChat();
        ChatCompletion completion = await client.CompleteChatAsync([new SystemChatMessage("Be brief."), new UserChatMessage("echo:Hello, world!")]);

        Assert.Equal("Hello, world!", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.StartsWith("chatcmpl-", completion.Id);
        Assert.Equal(14, completion.Usage.OutputTokenCount); // 13 characters + end of turn
        Assert.Equal(Encoding.UTF8.GetByteCount("system: Be brief.\nuser: echo:Hello, world!\n"), completion.Usage.InputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Chat_stream_yields_the_same_text_finish_reason_and_usage()
    {
        var client = fixture.OpenAiChat();
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        int updates = 0;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("echo:Streaming works.")]))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
                text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("Streaming works.", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(17, usage.OutputTokenCount);
        Assert.True(updates >= 18, $"expected one update per token plus role and finish, got {updates}");
    }

    [Fact]
    public async Task Stop_string_ends_the_reply_before_it_and_reports_stop()
    {
        var client = fixture.OpenAiChat();
        var options = new ChatCompletionOptions { StopSequences = { "world", "never" } };
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("echo:Hello, world! Goodbye.")], options);
        Assert.Equal("Hello, ", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);

        var streamed = new StringBuilder();
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("echo:Hello, world! Goodbye.")], options))
            foreach (var part in update.ContentUpdate)
                streamed.Append(part.Text);
        Assert.Equal("Hello, ", streamed.ToString());
    }

    [Fact]
    public async Task Max_tokens_truncates_and_reports_length()
    {
        var client = fixture.OpenAiChat();
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("echo:abcdefghijklmnop")], new ChatCompletionOptions { MaxOutputTokenCount = 5 });
        Assert.Equal("abcde", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(5, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Tool_call_comes_back_with_client_id_name_and_arguments()
    {
        var client = fixture.OpenAiChat();
        var options = new ChatCompletionOptions { Tools = { WeatherTool } };
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("""call:get_weather {"city":"Paris"}""")], options);

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.StartsWith("call_", call.Id);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("Paris", JsonDocument.Parse(call.FunctionArguments).RootElement.GetProperty("city").GetString());
        Assert.Empty(completion.Content);
        Assert.Equal("get_weather", Assert.Single(fixture.Backend.LastChat!.Tools!).Name);
    }

    [Fact]
    public async Task Streamed_tool_call_sends_id_and_name_first_then_argument_fragments()
    {
        var client = fixture.OpenAiChat();
        var options = new ChatCompletionOptions { Tools = { WeatherTool } };
        string? id = null, name = null;
        var arguments = new StringBuilder();
        int fragments = 0;
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("""call:get_weather {"city":"Oslo","unit":"C"}""")], options))
        {
            foreach (var tool in update.ToolCallUpdates)
            {
                Assert.Equal(0, tool.Index);
                if (tool.ToolCallId is not null)
                {
                    Assert.Null(id); // only the first chunk of a call carries its id and name
                    id = tool.ToolCallId;
                    name = tool.FunctionName;
                }

                var fragment = tool.FunctionArgumentsUpdate?.ToString() ?? "";
                if (fragment.Length > 0)
                {
                    Assert.NotNull(id);
                    fragments++;
                    arguments.Append(fragment);
                }
            }

            finish ??= update.FinishReason;
        }

        Assert.StartsWith("call_", id);
        Assert.Equal("get_weather", name);
        Assert.Equal("""{"city":"Oslo","unit":"C"}""", arguments.ToString());
        Assert.True(fragments > 1);
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    [Fact]
    public async Task Tool_result_round_trip_reaches_the_prompt_and_answers()
    {
        var client = fixture.OpenAiChat();
        var options = new ChatCompletionOptions { Tools = { WeatherTool } };
        var history = new List<ChatMessage> { new UserChatMessage("""call:get_weather {"city":"Paris"}""") };
        ChatCompletion first = await client.CompleteChatAsync(history, options);
        history.Add(new AssistantChatMessage(first));
        history.Add(new ToolChatMessage(first.ToolCalls[0].Id, """{"sky":"sunny"}"""));

        ChatCompletion second = await client.CompleteChatAsync(history, options);

        Assert.Equal("""Result: {"sky":"sunny"}""", second.Content[0].Text);
        var sent = fixture.Backend.LastChat!.Messages;
        Assert.Equal(first.ToolCalls[0].Id, sent[1].ToolCalls![0].Id);
        Assert.Equal("get_weather", sent[1].ToolCalls![0].Name);
        Assert.Equal("tool", sent[2].Role);
        Assert.Equal(first.ToolCalls[0].Id, sent[2].ToolCallId);
    }

    [Fact]
    public async Task Sampling_fields_reach_the_backend_with_moonshot_default_temperature()
    {
        var client = fixture.OpenAiChat();
        await client.CompleteChatAsync([new UserChatMessage("echo:x")]);
        Assert.Equal(0.6f, fixture.Backend.LastOptions!.Temperature);

        await client.CompleteChatAsync([new UserChatMessage("echo:x")], new ChatCompletionOptions { Temperature = 0.2f, TopP = 0.9f, Seed = 42, PresencePenalty = 0.5f, FrequencyPenalty = -0.5f });
        var options = fixture.Backend.LastOptions!;
        Assert.Equal(0.2f, options.Temperature, 5);
        Assert.Equal(0.9f, options.TopP, 5);
        Assert.Equal(42, options.Seed);
        Assert.Equal(0.5f, options.PresencePenalty, 5);
        Assert.Equal(-0.5f, options.FrequencyPenalty, 5);
    }

    [Fact]
    public async Task Logprobs_are_returned_per_token_when_requested()
    {
        var client = fixture.OpenAiChat();
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("echo:abc")],
            new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 2 });
        Assert.Equal(3, completion.ContentTokenLogProbabilities.Count);
        Assert.Equal("a", completion.ContentTokenLogProbabilities[0].Token);
        Assert.Equal(2, completion.ContentTokenLogProbabilities[0].TopLogProbabilities.Count);
    }

    [Fact]
    public async Task Wrong_api_key_is_refused_with_401()
    {
        var client = fixture.OpenAiChat("sk-wrong");
        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, error.Status);
    }
}
