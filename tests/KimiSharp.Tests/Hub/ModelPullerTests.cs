using KimiSharp.Hub;

namespace KimiSharp.Tests.Hub;

public sealed class ModelPullerTests : IAsyncLifetime
{
    private const string Repo = "unsloth/Kimi-K2-Instruct-0905-GGUF";
    private static readonly string[] Parts =
    [
        "UD-Q2_K_XL/Kimi-K2-Instruct-0905-UD-Q2_K_XL-00001-of-00003.gguf",
        "UD-Q2_K_XL/Kimi-K2-Instruct-0905-UD-Q2_K_XL-00002-of-00003.gguf",
        "UD-Q2_K_XL/Kimi-K2-Instruct-0905-UD-Q2_K_XL-00003-of-00003.gguf",
    ];

    private readonly LoopbackHub _hub = new(Repo);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kimisharp-pull-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new();
    private readonly Dictionary<string, byte[]> _content = new();

    public ModelPullerTests()
    {
        var rng = new Random(5);
        foreach (var (path, size) in Parts.Select((p, i) => (p, 20_000 + 7_000 * i)).Append(("Q4_K_M/Kimi-K2-Instruct-0905-Q4_K_M.gguf", 9_000)).Append(("README.md", 300)))
        {
            var bytes = new byte[size];
            rng.NextBytes(bytes);
            _content[path] = bytes;
            _hub.AddFile(path, bytes);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        _http.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private ModelPuller Puller(string? token = null, Func<string, long>? freeSpace = null) =>
        new(new HubClient(_http, _hub.Endpoint, token), new PullOptions { RetryDelay = TimeSpan.Zero, FreeSpace = freeSpace });

    private void AssertPartsOnDisk()
    {
        foreach (var part in Parts)
        {
            var local = Path.Combine(_dir, part);
            Assert.Equal(_content[part], File.ReadAllBytes(local));
            Assert.False(File.Exists(local + ".part"));
        }
    }

    [Fact]
    public async Task Pull_downloads_every_split_part_of_the_quant_and_points_at_the_first()
    {
        var result = await Puller().PullAsync(Repo + ":UD-Q2_K_XL", _dir);
        Assert.Equal(Path.Combine(_dir, Parts[0]), result.ModelPath);
        Assert.Equal(3, result.Files.Count);
        AssertPartsOnDisk();
        Assert.Equal(Parts.Sum(p => (long)_content[p].Length), result.BytesDownloaded);
        Assert.DoesNotContain(_hub.RequestLog, r => r.Contains("Q4_K_M") || r.Contains("README"));
        Assert.Contains(_hub.RequestLog, r => r.StartsWith($"GET /{Repo}/resolve/main/UD-Q2_K_XL/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_connection_dropped_mid_file_resumes_without_refetching_received_bytes()
    {
        _hub.AddFault(Parts[1], new LoopbackHub.Fault(DropAfter: 11_111));
        var result = await Puller().PullAsync(Repo + ":UD-Q2_K_XL", _dir);
        AssertPartsOnDisk();
        Assert.Equal(_content[Parts[1]].Length, _hub.ServedBytes(Parts[1]));
        Assert.Equal(Parts.Sum(p => (long)_content[p].Length), result.BytesDownloaded);
        Assert.Contains(_hub.RequestLog, r => r.Contains("00002-of-00003"));
    }

    [Fact]
    public async Task An_interrupted_earlier_run_is_resumed_from_its_part_file()
    {
        var first = Path.Combine(_dir, Parts[0]);
        Directory.CreateDirectory(Path.GetDirectoryName(first)!);
        File.WriteAllBytes(first + ".part", _content[Parts[0]][..15_000]);
        File.WriteAllBytes(Path.Combine(_dir, Parts[2]), _content[Parts[2]]); // already complete
        await Puller().PullAsync(Repo + ":UD-Q2_K_XL", _dir);
        AssertPartsOnDisk();
        Assert.Equal(_content[Parts[0]].Length - 15_000, _hub.ServedBytes(Parts[0]));
        Assert.Equal(0, _hub.ServedBytes(Parts[2]));
    }

    [Fact]
    public async Task Repeated_drops_at_every_point_still_complete_with_each_byte_served_once()
    {
        foreach (long drop in new long[] { 1, 5_000, 9_999, 1 })
            _hub.AddFault(Parts[0], new LoopbackHub.Fault(DropAfter: drop));
        var puller = new ModelPuller(new HubClient(_http, _hub.Endpoint, null), new PullOptions { RetryDelay = TimeSpan.Zero, MaxAttempts = 6 });
        await puller.PullAsync(Repo + ":UD-Q2_K_XL", _dir);
        AssertPartsOnDisk();
        Assert.Equal(_content[Parts[0]].Length, _hub.ServedBytes(Parts[0]));
    }

    [Fact]
    public async Task A_corrupted_download_is_detected_by_sha256_and_fetched_again()
    {
        _hub.AddFault(Parts[2], new LoopbackHub.Fault(Corrupt: true));
        var progress = new RecordingProgress();
        await Puller().PullAsync(Repo + ":UD-Q2_K_XL", _dir, progress);
        AssertPartsOnDisk();
        Assert.Equal(2L * _content[Parts[2]].Length, _hub.ServedBytes(Parts[2]));
        Assert.Contains(progress.Events, e => e.File == Parts[2] && e.State == PullFileState.Retrying);
    }

    [Fact]
    public async Task A_damaged_part_file_from_an_earlier_run_is_caught_by_the_checksum_and_refetched()
    {
        var first = Path.Combine(_dir, Parts[0]);
        Directory.CreateDirectory(Path.GetDirectoryName(first)!);
        var damaged = _content[Parts[0]][..12_000];
        damaged[100] ^= 0xFF;
        File.WriteAllBytes(first + ".part", damaged);
        await Puller().PullAsync(Repo + ":UD-Q2_K_XL", _dir);
        AssertPartsOnDisk();
        // The rest after the damaged prefix, then the whole file again.
        Assert.Equal(_content[Parts[0]].Length - 12_000 + _content[Parts[0]].Length, _hub.ServedBytes(Parts[0]));
    }

    [Fact]
    public async Task Free_disk_space_is_checked_before_downloading()
    {
        var e = await Assert.ThrowsAsync<InsufficientDiskSpaceException>(() => Puller(freeSpace: _ => 1000).PullAsync(Repo + ":UD-Q2_K_XL", _dir));
        Assert.Equal(Parts.Sum(p => (long)_content[p].Length), e.NeededBytes);
        Assert.Equal(0, _hub.TotalServedBytes);
    }

    [Fact]
    public async Task Token_is_sent_as_bearer_authorization()
    {
        await Puller(token: "hf_secret").PullAsync(Repo + ":Q4_K_M", _dir);
        Assert.All(_hub.AuthorizationHeaders.Take(2), h => Assert.Equal("Bearer hf_secret", h));
        Assert.Equal(_content["Q4_K_M/Kimi-K2-Instruct-0905-Q4_K_M.gguf"], File.ReadAllBytes(Path.Combine(_dir, "Q4_K_M", "Kimi-K2-Instruct-0905-Q4_K_M.gguf")));
    }

    [Fact]
    public async Task Listing_follows_next_page_links()
    {
        _hub.PageSize = 2;
        var files = await new HubClient(_http, _hub.Endpoint, null).ListFilesAsync(Repo);
        Assert.Equal(_content.Keys.Order(StringComparer.Ordinal), files.Select(f => f.Path).Order(StringComparer.Ordinal));
        Assert.All(files, f => Assert.Equal(64, f.Sha256!.Length));
    }

    [Fact]
    public async Task Unknown_quant_lists_the_available_ones()
    {
        var e = await Assert.ThrowsAsync<HubException>(() => Puller().PullAsync(Repo + ":Q8_0", _dir));
        Assert.Contains("Q4_K_M", e.Message);
        Assert.Contains("UD-Q2_K_XL", e.Message);
    }

    [Fact]
    public async Task Missing_repository_gives_a_clear_error()
    {
        var e = await Assert.ThrowsAsync<HubException>(() => Puller().PullAsync("nobody/nothing:Q4_K", _dir));
        Assert.Contains("404", e.Message);
    }

    private sealed class RecordingProgress : IProgress<PullProgress>
    {
        public List<PullProgress> Events { get; } = [];
        public void Report(PullProgress value) { lock (Events) Events.Add(value); }
    }
}
