using System.IO.MemoryMappedFiles;

namespace KimiSharp.Gguf;

/// <summary>A whole file mapped read-only into memory; <see cref="Pointer"/> stays valid until Dispose.</summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private bool _acquired;

    public MappedFile(string path)
    {
        Path = path;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        Length = stream.Length;
        if (Length == 0)
            return; // an empty file cannot be mapped; the parser reports it as too short
        _map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        try
        {
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _acquired = true;
            Pointer = p + _view.PointerOffset;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Path { get; }
    public long Length { get; }
    public byte* Pointer { get; private set; }

    public void Dispose()
    {
        if (_acquired)
        {
            _view!.SafeMemoryMappedViewHandle.ReleasePointer();
            _acquired = false;
        }
        Pointer = null;
        _view?.Dispose();
        _map?.Dispose();
    }
}
