using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace KimiSharp.Hub;

/// <summary>
/// Downloads every file of one quantization of a hub repository into a directory: checks free space
/// first, fetches files in parallel into NAME.part with HTTP Range resume (after a dropped connection
/// or an earlier interrupted run), verifies the hub's SHA-256 (a mismatch deletes the part and fetches
/// it again) and renames finished files into place. Files already complete are skipped.
/// </summary>
public sealed class ModelPuller(HubClient hub, PullOptions? options = null)
{
    private readonly PullOptions _options = options ?? new PullOptions();

    /// <summary>Splits "owner/name[:QUANT]".</summary>
    public static (string Repo, string? Quant) ParseReference(string reference)
    {
        int colon = reference.IndexOf(':');
        string repo = colon < 0 ? reference : reference[..colon];
        string? quant = colon < 0 ? null : reference[(colon + 1)..];
        HubClient.ValidateRepo(repo);
        if (quant is not null && (quant.Length == 0 || quant.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
            throw new ArgumentException($"'{quant}' is not a quantization name (e.g. Q4_K_M, UD-Q2_K_XL)");
        return (repo, quant);
    }

    /// <summary>Lists, selects and downloads; returns where the files are.</summary>
    public async Task<PullResult> PullAsync(string reference, string directory, IProgress<PullProgress>? progress = null, CancellationToken ct = default)
    {
        var (repo, quant) = ParseReference(reference);
        var listing = await hub.ListFilesAsync(repo, _options.Revision, ct);
        var files = QuantSelector.Select(listing, quant);
        return await DownloadAsync(repo, files, directory, progress, ct);
    }

    /// <summary>Downloads the given files of <paramref name="repo"/> into <paramref name="directory"/> (keeping their repo paths).</summary>
    public async Task<PullResult> DownloadAsync(string repo, IReadOnlyList<HubFile> files, string directory, IProgress<PullProgress>? progress = null, CancellationToken ct = default)
    {
        Directory.CreateDirectory(directory);
        var targets = files.Select(f => (File: f, Target: LocalPath(directory, f.Path))).ToList();

        long needed = 0;
        foreach (var (file, target) in targets)
        {
            long have = IsComplete(file, target) ? file.Size : File.Exists(target + ".part") ? Math.Min(new FileInfo(target + ".part").Length, file.Size) : 0;
            needed += file.Size - have;
            progress?.Report(new PullProgress(file.Path, have, file.Size, have == file.Size ? PullFileState.Done : PullFileState.Waiting));
        }
        long free = (_options.FreeSpace ?? DefaultFreeSpace)(Path.GetFullPath(directory));
        if (needed > free)
            throw new InsufficientDiskSpaceException(Path.GetFullPath(directory), needed, free);

        using var slots = new SemaphoreSlim(Math.Max(1, _options.ParallelDownloads));
        var tasks = targets.Select(async t =>
        {
            await slots.WaitAsync(ct);
            try
            {
                return await DownloadFileAsync(repo, t.File, t.Target, progress, ct);
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        long[] downloaded = await Task.WhenAll(tasks);
        var paths = targets.Select(t => t.Target).ToList();
        return new PullResult(paths[0], paths, downloaded.Sum());
    }

    private static bool IsComplete(HubFile file, string target) => File.Exists(target) && new FileInfo(target).Length == file.Size;

    /// <summary>One file; returns the bytes that came over the network.</summary>
    private async Task<long> DownloadFileAsync(string repo, HubFile file, string target, IProgress<PullProgress>? progress, CancellationToken ct)
    {
        if (IsComplete(file, target))
            return 0;
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        string part = target + ".part";
        var url = hub.ResolveUrl(repo, file.Path, _options.Revision);
        var received = new StrongBox<long>();
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                string actual = await FetchIntoPartAsync(url, file, part, received, progress, ct);
                if (file.Sha256 is not null)
                {
                    if (!string.Equals(actual, file.Sha256, StringComparison.OrdinalIgnoreCase))
                    {
                        File.Delete(part);
                        if (attempt >= _options.MaxAttempts)
                            throw new HubException($"{file.Path}: SHA-256 mismatch after {attempt} tries (expected {file.Sha256}, got {actual})");
                        progress?.Report(new PullProgress(file.Path, 0, file.Size, PullFileState.Retrying));
                        continue;
                    }
                }
                File.Move(part, target, overwrite: true);
                progress?.Report(new PullProgress(file.Path, file.Size, file.Size, PullFileState.Done));
                return received.Value;
            }
            catch (Exception e) when (IsTransient(e, ct) && attempt < _options.MaxAttempts)
            {
                long have = File.Exists(part) ? new FileInfo(part).Length : 0;
                progress?.Report(new PullProgress(file.Path, have, file.Size, PullFileState.Retrying));
                if (_options.RetryDelay > TimeSpan.Zero)
                    await Task.Delay(_options.RetryDelay * attempt, ct);
            }
            catch (Exception e) when (IsTransient(e, ct))
            {
                throw new HubException($"{file.Path}: download failed after {attempt} tries: {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// Appends to the .part file from its current length (Range) until it holds the whole file; returns the
    /// file's SHA-256, hashed while writing (bytes from an earlier attempt are read back once).
    /// </summary>
    private async Task<string> FetchIntoPartAsync(Uri url, HubFile file, string part, StrongBox<long> received, IProgress<PullProgress>? progress, CancellationToken ct)
    {
        long have = File.Exists(part) ? new FileInfo(part).Length : 0;
        if (have > file.Size)
        {
            File.Delete(part);
            have = 0;
        }
        if (have == file.Size && file.Size > 0)
        {
            progress?.Report(new PullProgress(file.Path, have, file.Size, PullFileState.Verifying));
            return await Sha256OfFileAsync(part, ct);
        }

        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(_options.StallTimeout);
        using var response = await hub.OpenAsync(url, have, stall.Token);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // Our part does not fit the server's file: start over.
            File.Delete(part);
            throw new IOException($"the server refused to resume {file.Path} at byte {have}");
        }
        long start = 0;
        if (response.StatusCode == HttpStatusCode.PartialContent)
            start = response.Content.Headers.ContentRange?.From ?? 0;
        if (start != have)
            have = 0; // range ignored (200) or a different start: rewrite from the beginning

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (have > 0)
        {
            progress?.Report(new PullProgress(file.Path, have, file.Size, PullFileState.Verifying));
            await HashPrefixAsync(part, have, sha, ct);
        }
        await using var output = new FileStream(part, have == 0 ? FileMode.Create : FileMode.Open, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        output.SetLength(have);
        output.Seek(have, SeekOrigin.Begin);
        await using var input = await response.Content.ReadAsStreamAsync(stall.Token);
        var buffer = new byte[1 << 20];
        progress?.Report(new PullProgress(file.Path, have, file.Size, PullFileState.Downloading));
        while (true)
        {
            stall.CancelAfter(_options.StallTimeout);
            int n = await input.ReadAsync(buffer, stall.Token);
            if (n == 0) break;
            if (have + n > file.Size)
                throw new HubException($"{file.Path}: the server sent more than the listed {file.Size:N0} bytes");
            await output.WriteAsync(buffer.AsMemory(0, n), stall.Token);
            sha.AppendData(buffer, 0, n);
            have += n;
            received.Value += n;
            progress?.Report(new PullProgress(file.Path, have, file.Size, PullFileState.Downloading));
        }
        await output.FlushAsync(ct);
        if (have != file.Size)
            throw new IOException($"{file.Path}: connection closed at byte {have:N0} of {file.Size:N0}");
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static bool IsTransient(Exception e, CancellationToken ct) =>
        !ct.IsCancellationRequested && e is IOException or HttpRequestException or OperationCanceledException;

    private static async Task HashPrefixAsync(string path, long length, IncrementalHash sha, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        var buffer = new byte[1 << 20];
        long left = length;
        while (left > 0)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct);
            if (n == 0) throw new IOException($"{path} is shorter than {length} bytes");
            sha.AppendData(buffer, 0, n);
            left -= n;
        }
    }

    private static async Task<string> Sha256OfFileAsync(string path, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        byte[] hash = await SHA256.HashDataAsync(stream, ct);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>Joins a repo path under the directory, refusing paths that would leave it.</summary>
    private static string LocalPath(string directory, string repoPath)
    {
        if (repoPath.Length == 0 || repoPath.Contains('\\') || repoPath.StartsWith('/') || repoPath.Split('/').Any(s => s is "" or "." or ".."))
            throw new HubException($"refusing unsafe file path from the hub: '{repoPath}'");
        return Path.Combine(Path.GetFullPath(directory), Path.Combine(repoPath.Split('/')));
    }

    private static long DefaultFreeSpace(string directory)
    {
        try
        {
            return new DriveInfo(directory).AvailableFreeSpace;
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            return long.MaxValue; // cannot tell: do not block the download
        }
    }
}
