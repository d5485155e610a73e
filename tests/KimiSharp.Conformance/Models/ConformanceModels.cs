using System.Collections.Concurrent;
using KimiSharp.Quants;
using KimiSharp.TestModels;

namespace KimiSharp.Conformance.Models;

/// <summary>
/// Generated test models for one test class: written once per (shape, type) into a temp folder that is deleted
/// with the fixture. "UD" stands for the mixed Unsloth-UD-like layout.
/// </summary>
public sealed class ConformanceModels : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kimisharp-conformance-" + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentDictionary<string, string> _paths = new();

    public ConformanceModels() => Directory.CreateDirectory(_dir);

    public string Get(string shape, string type) => _paths.GetOrAdd(shape + "-" + type, key =>
    {
        var spec = TestModelSpec.ForShape(shape);
        spec = type == "UD"
            ? spec with { TypeOverride = TestModelTypes.UdLike() }
            : spec with { Type = Enum.Parse<GgmlType>(type) };
        var path = Path.Combine(_dir, key + ".gguf");
        TestModelWriter.Write(spec, path);
        return path;
    });

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
