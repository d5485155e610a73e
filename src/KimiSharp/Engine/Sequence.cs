using System.Diagnostics;
using System.Threading.Channels;
using KimiSharp.Sampling;

namespace KimiSharp.Engine;

/// <summary>
/// One request's state inside the engine loop: its tokens (prompt, then what it generated), its paged KV cache, sampler,
/// stop logic and event channel. A sequence whose cache is dropped when memory runs out (preempted) keeps everything else
/// and recomputes its cache when it runs again, so its answer does not change.
/// </summary>
internal sealed class Sequence
{
    private const int Queued = 0, Running = 1, Done = 2;
    private int _state = Queued;
    private volatile bool _cancelRequested;

    public Sequence(GenerationRequest request, IEngineVocabulary vocabulary, int vocabSize)
    {
        Request = request;
        Sampler = new Sampler(request.Sampling, vocabSize);
        Decoder = vocabulary.CreateDecoder();
        Stops = new StopStringMatcher(request.StopStrings);
        var eog = new HashSet<int>(request.StopTokenIds);
        if (!request.IgnoreEndOfGeneration) eog.UnionWith(vocabulary.EndOfGenerationIds);
        EndIds = eog;
        Events = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
        Tokens = new List<int>(request.PromptTokens.Count + Math.Min(request.MaxTokens ?? 256, 4096));
        Tokens.AddRange(request.PromptTokens);
        Submitted = Stopwatch.GetTimestamp();
    }

    public GenerationRequest Request { get; }
    public Sampler Sampler { get; }
    public ITokenTextDecoder Decoder { get; }
    public StopStringMatcher Stops { get; }
    public HashSet<int> EndIds { get; }
    public Channel<GenerationEvent> Events { get; }
    public CancellationTokenRegistration Registration { get; set; }

    /// <summary>The prompt, then every sampled token; the KV cache holds the first <c>Kv.Length</c> of them.</summary>
    public List<int> Tokens { get; }

    public int PromptCount => Request.PromptTokens.Count;

    /// <summary>The paged KV cache while the sequence holds one (null before admission and after the end).</summary>
    public KvBlockTable? Kv { get; set; }

    /// <summary>Whether it is in the engine's running set (false while waiting, also after a preemption).</summary>
    public bool IsRunning { get; set; }

    /// <summary>Order of the latest admission: the newest running sequence is preempted first.</summary>
    public long AdmitOrder { get; set; }

    /// <summary>Admitted at least once (its prompt is in the sampler's history, its cached-prefix count is known).</summary>
    public bool Admitted { get; set; }

    /// <summary>Prompt tokens found in the prefix cache at the first admission.</summary>
    public int CachedPromptTokens { get; set; }

    /// <summary>Full KV blocks already offered to the prefix cache, and the cache node of the last of them.</summary>
    public int OfferedBlocks { get; set; }
    public object? CacheTail { get; set; }

    public int Generated { get; set; }
    public int DecodeSteps { get; set; }
    public int Preemptions { get; set; }
    public long Submitted { get; }
    public long Started { get; set; }
    public long PrefillEnded { get; set; }

    public bool CancelRequested => _cancelRequested;

    /// <summary>
    /// Queued → Running; false if it was cancelled while waiting. Also true when already started: a new sequence the loop
    /// started but left waiting for KV memory is started again at its next admission (it must not read as cancelled).
    /// </summary>
    public bool TryStart() => Interlocked.CompareExchange(ref _state, Running, Queued) != Done;

    /// <summary>Marks the sequence finished; true only for the first caller.</summary>
    public bool TryComplete() => Interlocked.Exchange(ref _state, Done) != Done;

    /// <summary>From the caller's token: a never-started sequence finishes at once, a started one at its next step.</summary>
    public bool RequestCancel()
    {
        _cancelRequested = true;
        return Interlocked.CompareExchange(ref _state, Done, Queued) == Queued;
    }
}
