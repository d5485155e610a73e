using System.Text.Json.Serialization;

namespace KimiSharp.Hub;

/// <summary>
/// One element of GET /api/models/{repo}/tree/{revision}?recursive=true, e.g.
/// {"type":"file","oid":"…git sha1…","size":123,"path":"Q4_K/x-00001-of-00002.gguf","lfs":{"oid":"…sha256…","size":123,"pointerSize":134}}.
/// </summary>
internal sealed record HubTreeEntry(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("path")] string? Path,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("oid")] string? Oid,
    [property: JsonPropertyName("lfs")] HubLfsInfo? Lfs);

internal sealed record HubLfsInfo(
    [property: JsonPropertyName("oid")] string? Oid,
    [property: JsonPropertyName("size")] long Size);

[JsonSerializable(typeof(List<HubTreeEntry>))]
internal sealed partial class HubJsonContext : JsonSerializerContext;
