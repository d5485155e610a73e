using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using KimiSharp.Chat;
using KimiSharp.Engine;
using KimiSharp.Server.Backend;
using Backend = KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using KimiSharp.Tests.Grammar;

namespace KimiSharp.Server.Tests.Support;

/// <summary>
/// A real server over a random-weight model with the 163,840-token Kimi vocabulary (<see cref="KimiVocabModel"/>,
/// <see cref="KimiLikeVocabulary"/>), the Kimi chat template and the Enforcer on (the default). The backend is
/// wrapped so tests see the Kimi ids (<c>functions.NAME:IDX</c>) the model wrote, which no API shows.
/// </summary>
public sealed class KimiVocabServerFixture : IAsyncLifetime
{
    private KimiSharp.Models.DeepSeek2.DeepSeek2Model _model = null!;
    private EngineChatBackend _backend = null!;

    public KimiServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    /// <summary>Kimi ids of the tool calls started since the last <see cref="TakeKimiIds"/>, in order.</summary>
    public List<string> TakeKimiIds()
    {
        var ids = new List<string>();
        while (_recorder.KimiIds.TryDequeue(out var id)) ids.Add(id);
        return ids;
    }

    private RecordingBackend _recorder = null!;

    public async Task InitializeAsync()
    {
        _model = KimiVocabModel.Load(threads: 2);
        var tokenizer = KimiLikeVocabulary.Tokenizer;
        var engine = new InferenceEngine(_model, tokenizer, new EngineOptions { ContextLength = 2048, MaxActiveSequences = 4 });
        _backend = new EngineChatBackend(engine, tokenizer, new ChatFormatter(KimiChatTemplate.Source, "[BOS]", "<|im_end|>"), "kimi-vocab-tiny");
        _recorder = new RecordingBackend(_backend);
        Server = await KimiServer.StartAsync(_recorder, new ServerOptions { Port = 0 });
        Http = new HttpClient { BaseAddress = Server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        _backend.Dispose();
        _model.Dispose();
    }

    private sealed class RecordingBackend(IChatBackend inner) : IChatBackend
    {
        public readonly ConcurrentQueue<string> KimiIds = new();

        public BackendState State => inner.State;
        public ModelDescription Model => inner.Model;
        public int QueueDepth => inner.QueueDepth;
        public int InFlight => inner.InFlight;
        public PreparedPrompt PrepareChat(ChatPromptRequest request) => inner.PrepareChat(request);
        public PreparedPrompt PrepareText(string prompt) => inner.PrepareText(prompt);
        public PreparedPrompt PrepareTokens(IReadOnlyList<int> tokens) => inner.PrepareTokens(tokens);
        public int[] Tokenize(string text, bool addSpecial, bool parseSpecial) => inner.Tokenize(text, addSpecial, parseSpecial);
        public string Detokenize(IReadOnlyList<int> tokens) => inner.Detokenize(tokens);
        public string TokenPiece(int token) => inner.TokenPiece(token);
        public void ValidateFormat(OutputFormat format) => inner.ValidateFormat(format);

        public async IAsyncEnumerable<GenerationUpdate> GenerateAsync(PreparedPrompt prompt, GenerationOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var update in inner.GenerateAsync(prompt, options, cancellationToken))
            {
                if (update is Backend.ToolCallStarted started) KimiIds.Enqueue(started.KimiId);
                yield return update;
            }
        }
    }
}
