namespace KimiSharp.Gguf;

/// <summary>A GGUF file (or split set) is malformed: names the file, the byte offset or metadata key, and what was expected.</summary>
public sealed class GgufFormatException : Exception
{
    public GgufFormatException(string filePath, string message, long? offset = null, string? key = null, Exception? inner = null)
        : base(Compose(filePath, message, offset, key), inner)
    {
        FilePath = filePath;
        Offset = offset;
        Key = key;
    }

    public string FilePath { get; }

    /// <summary>Byte offset in <see cref="FilePath"/> where the problem was found, when it is about bytes.</summary>
    public long? Offset { get; }

    /// <summary>Metadata key (or tensor name) the problem is about, when there is one.</summary>
    public string? Key { get; }

    private static string Compose(string filePath, string message, long? offset, string? key)
    {
        var where = offset is { } o ? $" at offset {o}" : "";
        var what = key is null ? "" : $" (key '{key}')";
        return $"{filePath}{where}{what}: {message}";
    }
}
