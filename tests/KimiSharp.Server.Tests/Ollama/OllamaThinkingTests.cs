using OllamaSharp;
using OllamaSharp.Models.Chat;
using KimiSharp.Server.Tests.Support;

namespace KimiSharp.Server.Tests.Ollama;

/// <summary>A thinking model's template behind the Ollama API: reasoning comes back as message.thinking, apart from the answer.</summary>
public sealed class OllamaThinkingTests(ThinkingEngineServerFixture fixture) : IClassFixture<ThinkingEngineServerFixture>
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reasoning_is_message_thinking_and_the_answer_is_content(bool stream)
    {
        var client = new OllamaApiClient(new HttpClient { BaseAddress = fixture.Server.BaseAddress }, "kimi-scripted");
        var thinking = new System.Text.StringBuilder();
        var content = new System.Text.StringBuilder();
        await foreach (var reply in client.ChatAsync(new ChatRequest
        {
            Model = "kimi-scripted", Stream = stream, Think = true,
            Messages = [new Message(ChatRole.User, "What is 2+2? Please think step by step.")],
        }))
        {
            thinking.Append(reply!.Message.Thinking);
            content.Append(reply.Message.Content);
        }

        Assert.Equal("Two and two make four.", thinking.ToString());
        Assert.Equal("The answer is 4.", content.ToString());
    }

    [Fact]
    public async Task Thinking_given_back_in_the_history_reaches_the_template()
    {
        var client = new OllamaApiClient(new HttpClient { BaseAddress = fixture.Server.BaseAddress }, "kimi-scripted");
        var request = new ChatRequest
        {
            Model = "kimi-scripted", Stream = false,
            Messages =
            [
                new Message(ChatRole.User, "Hi"),
                new Message(ChatRole.Assistant, "") { Thinking = "Checking the weather first.", ToolCalls = [new Message.ToolCall { Function = new Message.Function { Name = "get_weather", Arguments = new Dictionary<string, object?> { ["city"] = "Paris" } } }] },
                new Message(ChatRole.Tool, "sunny") { ToolName = "get_weather" },
            ],
        };
        await foreach (var _ in client.ChatAsync(request))
        {
        }

        Assert.Contains("<think>Checking the weather first.</think>", fixture.Model.LastPrompt);
    }
}
