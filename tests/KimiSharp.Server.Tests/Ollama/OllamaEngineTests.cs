using System.Text.Json;
using KimiSharp.Server.Tests.Support;
using OllamaSharp;
using OllamaSharp.Models.Chat;
using OllamaSharp.Models.Exceptions;

namespace KimiSharp.Server.Tests.Ollama;

/// <summary>
/// OllamaSharp against the real stack (engine, Kimi template, Enforcer, tool-call parser); only the model's
/// next-token choice is scripted, emitting Kimi's native tool-call markers.
/// </summary>
public sealed class OllamaEngineTests(EngineServerFixture fixture) : IClassFixture<EngineServerFixture>
{
    private OllamaApiClient Client() => new(new HttpClient { BaseAddress = fixture.Server.BaseAddress }, "kimi-scripted");

    private static async Task<ChatDoneResponseStream> OneAsync(IAsyncEnumerable<ChatResponseStream?> stream)
    {
        ChatDoneResponseStream? done = null;
        await foreach (var item in stream)
            done = Assert.IsType<ChatDoneResponseStream>(item);
        return done!;
    }

    [Fact]
    public async Task Tool_call_round_trip_through_the_kimi_template()
    {
        var client = Client();
        var history = new List<Message> { new(ChatRole.User, "What is the weather in Paris?") };
        var first = await OneAsync(client.ChatAsync(new ChatRequest { Model = "kimi-scripted", Messages = history, Tools = [OllamaTestTools.Weather], Stream = false }));

        Assert.Equal("I'll check.", first.Message.Content);
        var call = Assert.Single(first.Message.ToolCalls!);
        Assert.Equal("get_weather", call.Function!.Name);
        Assert.Equal("Paris", call.Function.Arguments!["city"]!.ToString());
        Assert.Contains("tool_declare", fixture.Model.LastPrompt); // the tools reached the template

        history.Add(first.Message);
        history.Add(new Message(ChatRole.Tool, """{"sky":"sunny"}""") { ToolName = "get_weather" });
        var answer = await OneAsync(client.ChatAsync(new ChatRequest { Model = "kimi-scripted", Messages = history, Tools = [OllamaTestTools.Weather], Stream = false }));

        Assert.Equal("It is sunny in Paris.", answer.Message.Content);
        Assert.Equal("stop", answer.DoneReason);
        var prompt = fixture.Model.LastPrompt!;
        Assert.Contains("<|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{\"city\":\"Paris\"}", prompt); // the arguments object OllamaSharp sent back
        Assert.Contains("## Return of functions.get_weather:0", prompt);
    }

    [Fact]
    public async Task Format_json_and_schema_pass_the_enforcer_and_a_bad_schema_is_400()
    {
        var client = Client();
        var request = new ChatRequest { Model = "kimi-scripted", Messages = [new Message(ChatRole.User, "Answer as JSON")], Stream = false, Format = "json" };
        var json = await OneAsync(client.ChatAsync(request));
        Assert.Equal("Paris", JsonDocument.Parse(json.Message.Content!).RootElement.GetProperty("city").GetString());

        request.Format = JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"},"sunny":{"type":"boolean"}},"required":["city","sunny"]}""").RootElement;
        var schema = await OneAsync(client.ChatAsync(request));
        Assert.True(JsonDocument.Parse(schema.Message.Content!).RootElement.GetProperty("sunny").GetBoolean());

        request.Format = JsonDocument.Parse("""{"type":"object","properties":{"a":{"$ref":"#/$defs/missing"}}}""").RootElement;
        var error = await Assert.ThrowsAsync<OllamaException>(() => OneAsync(client.ChatAsync(request)));
        Assert.Contains("format", error.Message);
    }
}
