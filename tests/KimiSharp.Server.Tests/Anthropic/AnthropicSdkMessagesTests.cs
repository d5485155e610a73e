using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using KimiSharp.Server.Tests.Support;

namespace KimiSharp.Server.Tests.Anthropic;

/// <summary>The official Anthropic .NET SDK (13.14.0, unmodified, response validation on) against a real server.</summary>
public sealed class AnthropicSdkMessagesTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly Tool WeatherTool = new()
    {
        Name = "get_weather",
        Description = "Current weather for a city",
        InputSchema = new InputSchema
        {
            Properties = new Dictionary<string, JsonElement> { ["city"] = JsonDocument.Parse("""{"type":"string"}""").RootElement },
            Required = ["city"],
        },
    };

    private static MessageCreateParams Params(string user, IReadOnlyList<string>? stops = null, long maxTokens = 256, bool tools = false) => new()
    {
        Model = "kimi-test",
        MaxTokens = maxTokens,
        Messages = [new UserMessageParam(user)],
        StopSequences = stops,
        Tools = tools ? [WeatherTool] : null,
    };

    [Fact]
    public async Task Message_returns_text_block_end_turn_and_usage()
    {
        var message = await fixture.Anthropic().Messages.Create(Params("echo:Hello, Claude Code!"));

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Hello, Claude Code!", text!.Text);
        Assert.Equal(StopReason.EndTurn, (StopReason)message.StopReason!);
        Assert.Null(message.StopSequence);
        Assert.Equal(20, message.Usage.OutputTokens);
        Assert.Equal(Encoding.UTF8.GetByteCount("user: echo:Hello, Claude Code!\n"), message.Usage.InputTokens);
        Assert.StartsWith("msg_", message.ID);
    }

    [Fact]
    public async Task Stream_emits_the_full_event_sequence_with_the_same_text()
    {
        var names = new List<string>();
        var text = new StringBuilder();
        StopReason? stop = null;
        long outputTokens = -1;
        await foreach (var item in fixture.Anthropic().Messages.CreateStreaming(Params("echo:Streaming to Claude.")))
        {
            if (item.TryPickStart(out _)) names.Add("message_start");
            if (item.TryPickContentBlockStart(out var start))
            {
                names.Add("content_block_start");
                Assert.True(start!.ContentBlock.TryPickText(out _));
            }

            if (item.TryPickContentBlockDelta(out var delta))
            {
                if (names[^1] != "content_block_delta") names.Add("content_block_delta");
                Assert.True(delta!.Delta.TryPickText(out var piece));
                text.Append(piece!.Text);
            }

            if (item.TryPickContentBlockStop(out _)) names.Add("content_block_stop");
            if (item.TryPickDelta(out var messageDelta))
            {
                names.Add("message_delta");
                stop = (StopReason)messageDelta!.Delta.StopReason!;
                outputTokens = messageDelta.Usage.OutputTokens;
            }

            if (item.TryPickStop(out _)) names.Add("message_stop");
        }

        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"], names);
        Assert.Equal("Streaming to Claude.", text.ToString());
        Assert.Equal(StopReason.EndTurn, stop);
        Assert.Equal(21, outputTokens);
    }

    [Fact]
    public async Task Stop_sequence_is_reported_with_its_text()
    {
        var message = await fixture.Anthropic().Messages.Create(Params("echo:one two three", stops: ["three", "zzz"]));
        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("one two ", text!.Text);
        Assert.Equal(StopReason.StopSequence, (StopReason)message.StopReason!);
        Assert.Equal("three", message.StopSequence);
    }

    [Fact]
    public async Task Max_tokens_ends_with_max_tokens_stop_reason()
    {
        var message = await fixture.Anthropic().Messages.Create(Params("echo:abcdefghij", maxTokens: 4));
        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("abcd", text!.Text);
        Assert.Equal(StopReason.MaxTokens, (StopReason)message.StopReason!);
        Assert.Equal(4, message.Usage.OutputTokens);
    }

    [Fact]
    public async Task Tool_use_block_carries_toolu_id_name_and_parsed_input()
    {
        var message = await fixture.Anthropic().Messages.Create(Params("""call:get_weather {"city":"Paris"}""", tools: true));

        Assert.Equal(StopReason.ToolUse, (StopReason)message.StopReason!);
        var block = Assert.Single(message.Content);
        Assert.True(block.TryPickToolUse(out var toolUse));
        Assert.StartsWith("toolu_", toolUse!.ID);
        Assert.Equal("get_weather", toolUse.Name);
        Assert.Equal("Paris", toolUse.Input["city"].GetString());
        var declared = Assert.Single(fixture.Backend.LastChat!.Tools!);
        Assert.Equal("get_weather", declared.Name);
        Assert.Contains("\"city\"", declared.ParametersJson);
    }

    [Fact]
    public async Task Streamed_tool_use_sends_input_json_deltas_that_join_to_the_arguments()
    {
        string? id = null;
        var json = new StringBuilder();
        StopReason? stop = null;
        await foreach (var item in fixture.Anthropic().Messages.CreateStreaming(Params("""call:get_weather {"city":"Oslo","days":3}""", tools: true)))
        {
            if (item.TryPickContentBlockStart(out var start) && start!.ContentBlock.TryPickToolUse(out var toolUse))
            {
                id = toolUse!.ID;
                Assert.Equal("get_weather", toolUse.Name);
            }

            if (item.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickInputJson(out var piece))
                json.Append(piece!.PartialJson);
            if (item.TryPickDelta(out var messageDelta))
                stop = (StopReason)messageDelta!.Delta.StopReason!;
        }

        Assert.StartsWith("toolu_", id);
        Assert.Equal("""{"city":"Oslo","days":3}""", json.ToString());
        Assert.Equal(StopReason.ToolUse, stop);
    }

    [Fact]
    public async Task Tool_result_round_trip_maps_ids_and_answers()
    {
        var client = fixture.Anthropic();
        var first = await client.Messages.Create(Params("""call:get_weather {"city":"Paris"}""", tools: true));
        Assert.True(first.Content[0].TryPickToolUse(out var toolUse));

        var second = await client.Messages.Create(new MessageCreateParams
        {
            Model = "kimi-test",
            MaxTokens = 256,
            Tools = [WeatherTool],
            Messages =
            [
                new UserMessageParam("""call:get_weather {"city":"Paris"}"""),
                new AssistantMessageParam(new List<ContentBlockParam>
                {
                    new ToolUseBlockParam { ID = toolUse!.ID, Name = toolUse.Name, Input = toolUse.Input },
                }),
                new UserMessageParam(new List<ContentBlockParam>
                {
                    new ToolResultBlockParam(toolUse.ID) { Content = "sunny, 21C" },
                }),
            ],
        });

        Assert.True(second.Content[0].TryPickText(out var text));
        Assert.Equal("Result: sunny, 21C", text!.Text);
        var sent = fixture.Backend.LastChat!.Messages;
        Assert.Equal(toolUse.ID, sent[1].ToolCalls![0].Id);
        Assert.Equal("""{"city":"Paris"}""", sent[1].ToolCalls![0].Arguments);
        Assert.Equal("tool", sent[2].Role);
        Assert.Equal(toolUse.ID, sent[2].ToolCallId);
    }

    [Fact]
    public async Task Count_tokens_matches_the_prompt_the_model_would_see()
    {
        var count = await fixture.Anthropic().Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "kimi-test",
            Messages = [new UserMessageParam("how many tokens?")],
            System = "You are Kimi.",
        });
        Assert.Equal(Encoding.UTF8.GetByteCount("system: You are Kimi.\nuser: how many tokens?\n"), count.InputTokens);
    }

    [Fact]
    public async Task Claude_code_billing_hash_is_neutralised_in_the_first_system_block()
    {
        await fixture.Anthropic().Messages.Create(new MessageCreateParams
        {
            Model = "kimi-test",
            MaxTokens = 8,
            System = new List<TextBlockParam>
            {
                new("x-anthropic-billing-header: cc_version=2.1.3; cc_entrypoint=cli; cch=3fa9c;"),
                new("You are Claude Code. cch=keep"),
            },
            Messages = [new UserMessageParam("echo:ok")],
        });

        var system = fixture.Backend.LastChat!.Messages[0];
        Assert.Equal("system", system.Role);
        Assert.Equal("x-anthropic-billing-header: cc_version=2.1.3; cc_entrypoint=cli; cch=fffff;\nYou are Claude Code. cch=keep", system.Content);
    }

    [Fact]
    public async Task Wrong_api_key_is_refused_with_401()
    {
        await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() => fixture.Anthropic("sk-wrong").Messages.Create(Params("hi")));
    }
}
