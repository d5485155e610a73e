using System.Runtime.InteropServices;

namespace KimiSharp.Bench;

/// <summary>A 64-byte-aligned native allocation, freed on Dispose.</summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    public NativeBuffer(long bytes)
    {
        Bytes = bytes;
        Pointer = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
    }

    public byte* Pointer { get; private set; }
    public long Bytes { get; }

    public void Dispose()
    {
        if (Pointer != null) NativeMemory.AlignedFree(Pointer);
        Pointer = null;
    }
}
