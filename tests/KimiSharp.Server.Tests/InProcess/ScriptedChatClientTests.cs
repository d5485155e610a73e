using System.Text.Json;
using KimiSharp.Chat;
using KimiSharp.Engine;
using KimiSharp.Server.Tests.Support;
using KimiSharp.Text;
using Microsoft.Extensions.AI;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace KimiSharp.Server.Tests.InProcess;

/// <summary>
/// <see cref="KimiChatClient"/> over the scripted model (the real engine, tokenizer, template, Enforcer and parsers, only the
/// network scripted), where the exact answer is known: tool calls with their prose, reasoning split from the answer on a
/// thinking template, control tokens kept out of the text, and the same output to streaming and non-streaming callers.
/// </summary>
public sealed class ScriptedChatClientTests
{
    private static KimiChatClient Client(string template)
    {
        var tokenizer = Tokenizer.Create(TestVocabulary.Build());
        var network = new ScriptedLanguageModel(tokenizer);
        var model = new LocalModel("kimi-scripted.gguf", network, tokenizer, new ChatFormatter(template, "[BOS]", "<|im_end|>"), isDemo: false)
        {
            ChatTemplate = template,
        };
        return new KimiChatClient(model, new InferenceEngine(network, tokenizer, new EngineOptions { ContextLength = 4096 }));
    }

    private static readonly ChatOptions WeatherTools = new()
    {
        Tools = [AIFunctionFactory.CreateDeclaration("get_weather", "Weather for a city",
            JsonElement.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""))],
    };

    [Fact]
    public async Task A_tool_call_comes_back_as_FunctionCallContent_after_its_prose()
    {
        using var client = Client(KimiChatTemplate.Source);

        var response = await client.GetResponseAsync("What's the weather in Paris?", WeatherTools);

        var contents = Assert.Single(response.Messages).Contents;
        Assert.Equal("I'll check.", Assert.IsType<TextContent>(contents[0]).Text);
        var call = Assert.IsType<FunctionCallContent>(contents[1]);
        Assert.Equal(("functions.get_weather:0", "get_weather"), (call.CallId, call.Name));
        Assert.Equal("Paris", call.Arguments!["city"]!.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);

        var streamed = await client.GetStreamingResponseAsync("What's the weather in Paris?", WeatherTools).ToChatResponseAsync();
        Assert.Equal(response.Text, streamed.Text);
        Assert.Equal(call.CallId, streamed.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Single().CallId);
    }

    [Fact]
    public async Task The_function_result_in_the_history_reaches_the_model()
    {
        using var client = Client(KimiChatTemplate.Source);
        var first = await client.GetResponseAsync("What's the weather in Paris?", WeatherTools);
        var call = first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Single();
        List<AiChatMessage> history =
        [
            new(ChatRole.User, "What's the weather in Paris?"),
            .. first.Messages,
            new(ChatRole.Tool, [new FunctionResultContent(call.CallId, "sunny, 24 C")]),
        ];

        var answer = await client.GetResponseAsync(history, WeatherTools);

        Assert.Equal("It is sunny in Paris.", answer.Text); // the script answers once it sees "## Return of"
        Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
    }

    [Fact]
    public async Task A_thinking_models_reasoning_comes_back_as_TextReasoningContent()
    {
        using var client = Client(ThinkingEngineServerFixture.Template);

        var response = await client.GetResponseAsync("What is 2+2? Please think step by step.");

        var contents = Assert.Single(response.Messages).Contents;
        Assert.Equal("Two and two make four.", Assert.IsType<TextReasoningContent>(contents[0]).Text);
        Assert.Equal("The answer is 4.", response.Text.Trim());
        Assert.DoesNotContain("think>", response.Text);
    }

    [Fact]
    public async Task Control_tokens_never_reach_the_text()
    {
        using var client = Client(KimiChatTemplate.Source);

        var response = await client.GetResponseAsync("Show me the specials.");

        Assert.Equal(ScriptedLanguageModel.SpecialsText, response.Text);
    }
}
