using System.Diagnostics;
using System.Threading.Channels;
using KimiSharp.Sampling;

namespace KimiSharp.Engine;

/// <summary>One request's state inside the engine loop: its cache, sampler, stop logic and event channel.</summary>
internal sealed class Sequence
{
    private const int Queued = 0, Running = 1, Done = 2;
    private int _state = Queued;
    private volatile bool _cancelRequested;

    public Sequence(GenerationRequest request, int contextLength, IEngineVocabulary vocabulary, int vocabSize)
    {
        Request = request;
        ContextLength = contextLength;
        Sampler = new Sampler(request.Sampling, vocabSize);
        Decoder = vocabulary.CreateDecoder();
        Stops = new StopStringMatcher(request.StopStrings);
        var eog = new HashSet<int>(request.StopTokenIds);
        if (!request.IgnoreEndOfGeneration) eog.UnionWith(vocabulary.EndOfGenerationIds);
        EndIds = eog;
        Events = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
        Submitted = Stopwatch.GetTimestamp();
    }

    public GenerationRequest Request { get; }
    public int ContextLength { get; }
    public Sampler Sampler { get; }
    public ITokenTextDecoder Decoder { get; }
    public StopStringMatcher Stops { get; }
    public HashSet<int> EndIds { get; }
    public Channel<GenerationEvent> Events { get; }
    public IModelSession? Session { get; set; }

    /// <summary>The tokens in <see cref="Session"/>'s cache, in order (for prefix reuse by later requests).</summary>
    public List<int> SessionTokens { get; } = [];

    /// <summary>Prompt tokens found in a reused cache.</summary>
    public int CachedPromptTokens { get; set; }
    public CancellationTokenRegistration Registration { get; set; }

    /// <summary>Prompt tokens already evaluated.</summary>
    public int PrefillDone { get; set; }

    /// <summary>The last sampled token, to be fed to the model at the next step (-1 = none).</summary>
    public int PendingToken { get; set; } = -1;

    public int Generated { get; set; }
    public long Submitted { get; }
    public long Started { get; set; }
    public long PrefillEnded { get; set; }
    public int DecodeSteps { get; set; }

    public bool CancelRequested => _cancelRequested;

    /// <summary>Queued → Running; false if it was cancelled while waiting.</summary>
    public bool TryStart() => Interlocked.CompareExchange(ref _state, Running, Queued) == Queued;

    /// <summary>Marks the sequence finished; true only for the first caller.</summary>
    public bool TryComplete() => Interlocked.Exchange(ref _state, Done) != Done;

    /// <summary>From the caller's token: a waiting sequence finishes at once, a running one at its next step.</summary>
    public bool RequestCancel()
    {
        _cancelRequested = true;
        return Interlocked.CompareExchange(ref _state, Done, Queued) == Queued;
    }
}
