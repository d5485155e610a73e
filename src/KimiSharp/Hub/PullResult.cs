namespace KimiSharp.Hub;

/// <summary>Where the files went; <see cref="ModelPath"/> is what to pass to --model (the first split part).</summary>
public sealed record PullResult(string ModelPath, IReadOnlyList<string> Files, long BytesDownloaded);
