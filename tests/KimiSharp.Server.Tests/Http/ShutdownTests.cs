using System.Text;
using KimiSharp.Chat;
using KimiSharp.Engine;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using KimiSharp.Server.Tests.Support;
using KimiSharp.Text;

namespace KimiSharp.Server.Tests.Http;

/// <summary>
/// Stopping the server (SIGTERM and Ctrl+C reach the host's ApplicationStopping) ends the replies in flight at once
/// with a "shutting down" error, even while the engine is held inside a forward (as in a long prefill chunk), instead
/// of the host waiting out its shutdown timeout for them and then cutting the connections.
/// </summary>
public sealed class ShutdownTests
{
    [Theory]
    [InlineData("/v1/messages", """{"model":"kimi","max_tokens":1000,"stream":true,"messages":[{"role":"user","content":"go on forever"}]}""", "text_delta")]
    [InlineData("/v1/chat/completions", """{"model":"kimi","max_tokens":1000,"stream":true,"messages":[{"role":"user","content":"go on forever"}]}""", "\"content\":\"")]
    [InlineData("/v1/responses", """{"model":"kimi","max_output_tokens":1000,"stream":true,"input":"go on forever"}""", "response.output_text.delta")]
    public async Task Stopping_ends_a_stream_in_flight_with_a_shutting_down_error_while_the_model_is_busy(string route, string body, string contentMarker)
    {
        var tokenizer = Tokenizer.Create(TestVocabulary.Build());
        var model = new ScriptedLanguageModel(tokenizer) { ForwardGate = new SemaphoreSlim(3) }; // the prompt and two tokens, then it holds
        using var backend = new EngineChatBackend(new InferenceEngine(model, tokenizer, new EngineOptions { ContextLength = 4096, MaxActiveSequences = 1 }),
            tokenizer, new ChatFormatter(KimiChatTemplate.Source, "[BOS]", "<|im_end|>"), "kimi");
        var server = await KimiServer.StartAsync(backend, new ServerOptions { Port = 0 });
        Task? stopping = null;
        try
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, route) { Content = new StringContent(body, Encoding.UTF8, "application/json") },
                HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var seen = new StringBuilder();
            while (await reader.ReadLineAsync() is { } line)
            {
                seen.AppendLine(line);
                if (line.Contains(contentMarker, StringComparison.Ordinal))
                    break;
            }

            Assert.Contains(contentMarker, seen.ToString()); // the answer was under way

            stopping = server.DisposeAsync().AsTask();
            using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2)); // a regression fails rather than hangs
            var rest = await reader.ReadToEndAsync(guard.Token);
            Assert.Contains("the server is shutting down", rest);
        }
        finally
        {
            model.ForwardGate.Release(1000); // let the engine finish its step so the backend can be disposed
            await (stopping ?? server.DisposeAsync().AsTask());
        }
    }
}
