using System.Collections.Concurrent;
using KimiSharp.Gguf;
using KimiSharp.Quants;
using KimiSharp.TestModels;

namespace KimiSharp.Tests.Models;

/// <summary>Test models written once per test class into a temp folder (deleted with the fixture).</summary>
public sealed class TinyModelFiles : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kimisharp-model-tests-" + Guid.NewGuid().ToString("N"));
    private readonly ConcurrentDictionary<string, string> _paths = new();

    public TinyModelFiles() => Directory.CreateDirectory(_dir);

    public string Directory_ => _dir;

    public string Get(string shape, GgmlType type = GgmlType.F32) => _paths.GetOrAdd($"{shape}-{type}", key =>
    {
        var path = Path.Combine(_dir, key + ".gguf");
        TestModelWriter.Write(TestModelSpec.ForShape(shape) with { Type = type }, path);
        return path;
    });

    /// <summary>Writes a copy of a shape's model edited by <paramref name="edit"/> (e.g. a tensor removed).</summary>
    public string Edited(string shape, string name, Action<GgufWriter> edit)
    {
        var writer = TestModelWriter.CreateWriter(TestModelSpec.ForShape(shape));
        edit(writer);
        var path = Path.Combine(_dir, $"{shape}-{name}.gguf");
        writer.Write(path);
        return path;
    }

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
