using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace KimiSharp.Server.WebUi;

/// <summary>One file of the chat page, read from the assembly's embedded resources.</summary>
/// <param name="Name">The file name, e.g. <c>app.js</c>.</param>
/// <param name="Content">The bytes served.</param>
/// <param name="ContentType">The Content-Type header, with charset for text.</param>
/// <param name="Version">The first 16 hex digits of the content's SHA-256: the <c>?v=</c> of versioned URLs.</param>
public sealed record WebAsset(string Name, byte[] Content, string ContentType, string Version)
{
    /// <summary>The strong ETag: the content's version in quotes.</summary>
    public string ETag => $"\"{Version}\"";

    /// <summary>The asset built from <paramref name="content"/>, its type taken from the name's extension.</summary>
    public static WebAsset Create(string name, byte[] content) =>
        new(name, content, ContentTypeOf(name), Convert.ToHexStringLower(SHA256.HashData(content))[..16]);

    /// <summary>The embedded resource <c>KimiSharp.Server.WebUi.NAME</c> (see the project file's EmbeddedResource).</summary>
    public static WebAsset Embedded(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"KimiSharp.Server.WebUi.{name}")
            ?? throw new InvalidOperationException($"the chat page's '{name}' is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Create(name, buffer.ToArray());
    }

    /// <summary>A text asset with every <c>webui/NAME"</c> reference of <paramref name="assets"/> turned into <c>webui/NAME?v=VERSION"</c>.</summary>
    public WebAsset WithVersionedLinks(IEnumerable<WebAsset> assets)
    {
        var text = Encoding.UTF8.GetString(Content);
        foreach (var asset in assets)
            text = text.Replace($"webui/{asset.Name}\"", $"webui/{asset.Name}?v={asset.Version}\"", StringComparison.Ordinal);
        return Create(Name, Encoding.UTF8.GetBytes(text));
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => throw new ArgumentException($"no content type known for '{name}'", nameof(name)),
    };
}
