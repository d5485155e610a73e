using KimiSharp.Server.Tests.Support;
using OpenAI.Chat;

namespace KimiSharp.Server.Tests.Engine;

/// <summary><c>--no-enforce</c> on the batching engine: requests run without a constraint, tool calls still parse.</summary>
public sealed class UnenforcedBackendTests(UnenforcedEngineServerFixture fixture) : IClassFixture<UnenforcedEngineServerFixture>
{
    private static readonly ChatTool WeatherTool = ChatTool.CreateFunctionTool("get_weather", "Weather for a city",
        BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}"""));

    [Fact]
    public async Task Without_enforcement_tool_calls_parse_and_concurrent_requests_complete()
    {
        var chat = fixture.OpenAiChat();
        var replies = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ =>
            chat.CompleteChatAsync([new UserChatMessage("What is the weather in Paris?")], new ChatCompletionOptions { Tools = { WeatherTool } })));
        foreach (ChatCompletion completion in replies.Select(r => r.Value))
        {
            Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
            Assert.Equal("""{"city": "Paris"}""", Assert.Single(completion.ToolCalls).FunctionArguments.ToString());
        }
        Assert.Equal(0, fixture.Backend.Engine.Stats.ActiveSequences);
    }

    [Fact]
    public async Task Without_enforcement_tool_choice_none_still_keeps_the_reply_free_of_calls()
    {
        ChatCompletion completion = await fixture.OpenAiChat().CompleteChatAsync([new UserChatMessage("What is the weather in Paris?")],
            new ChatCompletionOptions { Tools = { WeatherTool }, ToolChoice = ChatToolChoice.CreateNoneChoice(), MaxOutputTokenCount = 16 });
        Assert.Empty(completion.ToolCalls);
        Assert.NotEqual(ChatFinishReason.ToolCalls, completion.FinishReason);
    }
}
