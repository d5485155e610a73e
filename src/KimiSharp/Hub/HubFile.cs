namespace KimiSharp.Hub;

/// <summary>A file of a hub repository: its path in the repo, size, and SHA-256 when it is stored in LFS.</summary>
public sealed record HubFile(string Path, long Size, string? Sha256);
