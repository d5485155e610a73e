#pragma warning disable OPENAI001 // the SDK marks its Responses client as evaluation-only
using System.ClientModel;
using System.Text;
using KimiSharp.Server.Tests.Support;
using OpenAI.Responses;

namespace KimiSharp.Server.Tests.OpenAi;

/// <summary>The official OpenAI .NET SDK's Responses client (2.15.0, unmodified), streaming and not, against the real engine.</summary>
public sealed class ResponsesSdkTests(EngineServerFixture fixture) : IClassFixture<EngineServerFixture>
{
    private static readonly ResponseTool WeatherTool = ResponseTool.CreateFunctionTool(
        "get_weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""),
        strictModeEnabled: false, functionDescription: "Current weather for a city");

    private ResponsesClient Client() => new(new ApiKeyCredential("unused"), new ResponsesClientOptions
    {
        Endpoint = new Uri(fixture.Server.BaseAddress, "/v1"),
        RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0),
    });

    private static CreateResponseOptions Options(params ResponseItem[] input)
    {
        var options = new CreateResponseOptions { Model = "kimi-scripted", Instructions = "You are terse." };
        foreach (var item in input)
            options.InputItems.Add(item);
        return options;
    }

    [Fact]
    public async Task Create_returns_the_text_status_and_usage()
    {
        ResponseResult response = await Client().CreateResponseAsync(Options(ResponseItem.CreateUserMessageItem("Hello!")));

        Assert.Equal(ScriptedLanguageModel.GreetingScript.Replace("<|im_end|>", ""), response.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.StartsWith("resp_", response.Id);
        Assert.Equal("kimi-scripted", response.Model);
        Assert.True(response.Usage.InputTokenCount > 10);
        Assert.True(response.Usage.OutputTokenCount > 5);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
        Assert.NotNull(response.Usage.InputTokenDetails);
        var message = Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(response.OutputItems));
        Assert.Equal(MessageRole.Assistant, message.Role);
    }

    [Fact]
    public async Task Streaming_yields_deltas_that_add_up_to_the_completed_response()
    {
        var options = Options(ResponseItem.CreateUserMessageItem("Hello again!"));
        options.StreamingEnabled = true; // the SDK insists
        var text = new StringBuilder();
        var numbers = new List<int>();
        ResponseResult? completed = null;
        await foreach (var update in await Client().CreateResponseStreamingAsync(options))
        {
            numbers.Add(update.SequenceNumber);
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
                text.Append(delta.Delta);
            if (update is StreamingResponseCompletedUpdate done)
                completed = done.Response;
        }

        Assert.Equal(Enumerable.Range(0, numbers.Count), numbers);
        Assert.NotNull(completed);
        Assert.Equal(completed.GetOutputText(), text.ToString());
        Assert.Equal(ScriptedLanguageModel.GreetingScript.Replace("<|im_end|>", ""), text.ToString());
        Assert.True(completed.Usage.OutputTokenCount > 5);
    }

    [Fact]
    public async Task Tool_call_and_its_output_round_trip_through_previous_response_id()
    {
        var client = Client();
        var options = Options(ResponseItem.CreateUserMessageItem("What's the weather in Paris?"));
        options.Tools.Add(WeatherTool);
        ResponseResult first = await client.CreateResponseAsync(options);

        Assert.Equal("I'll check.", first.GetOutputText());
        var call = Assert.Single(first.OutputItems.OfType<FunctionCallResponseItem>());
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("""{"city": "Paris"}""", call.FunctionArguments.ToString());
        Assert.StartsWith("call_", call.CallId);

        var next = Options(ResponseItem.CreateFunctionCallOutputItem(call.CallId, "sunny, 24°C"));
        next.PreviousResponseId = first.Id;
        next.StreamingEnabled = true;
        next.Tools.Add(WeatherTool);
        var text = new StringBuilder();
        await foreach (var update in await client.CreateResponseStreamingAsync(next))
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
                text.Append(delta.Delta);

        Assert.Equal(ScriptedLanguageModel.AnswerScript.Replace("<|im_end|>", ""), text.ToString());
        Assert.Contains("sunny, 24°C", fixture.Model.LastPrompt);
        Assert.Contains("What's the weather in Paris?", fixture.Model.LastPrompt); // from the stored conversation
    }

    [Fact]
    public async Task Streamed_tool_call_arrives_as_argument_deltas_and_a_done_item()
    {
        var options = Options(ResponseItem.CreateUserMessageItem("weather in Paris, please"));
        options.Tools.Add(WeatherTool);
        options.StoredOutputEnabled = false;
        options.StreamingEnabled = true;
        var arguments = new StringBuilder();
        FunctionCallResponseItem? done = null;
        await foreach (var update in await Client().CreateResponseStreamingAsync(options))
        {
            if (update is StreamingResponseFunctionCallArgumentsDeltaUpdate delta)
                arguments.Append(delta.Delta.ToString());
            if (update is StreamingResponseOutputItemDoneUpdate { Item: FunctionCallResponseItem call })
                done = call;
        }

        Assert.NotNull(done);
        Assert.Equal(done.FunctionArguments.ToString(), arguments.ToString());
        Assert.Equal("get_weather", done.FunctionName);

        var stored = await Assert.ThrowsAsync<ClientResultException>(() => Client().GetResponseAsync("resp_never_stored"));
        Assert.Equal(404, stored.Status);
    }

    [Fact]
    public async Task Get_and_delete_find_a_stored_response()
    {
        var client = Client();
        ResponseResult created = await client.CreateResponseAsync(Options(ResponseItem.CreateUserMessageItem("Hello there!")));
        ResponseResult fetched = await client.GetResponseAsync(created.Id);
        Assert.Equal(created.GetOutputText(), fetched.GetOutputText());
        ResponseDeletionResult deleted = await client.DeleteResponseAsync(created.Id);
        Assert.True(deleted.Deleted);
    }
}
