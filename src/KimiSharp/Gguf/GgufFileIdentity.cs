using System.Security.Cryptography;

namespace KimiSharp.Gguf;

/// <summary>
/// A fingerprint of a GGUF file (or split set) that changes whenever its metadata or weights do, computed without
/// reading the whole file: SHA-256 over each part's size and first MiB (header, metadata, tensor index) and, for every
/// tensor, its name, type, shape and the first and last 256 bytes of its data. Random test models of the same shape
/// but another seed differ in those samples.
/// </summary>
public static class GgufFileIdentity
{
    private const int HeaderBytes = 1 << 20, Sample = 256;

    public static unsafe string Compute(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[HeaderBytes];
        foreach (var part in file.PartPaths)
        {
            using var stream = new FileStream(part, FileMode.Open, FileAccess.Read, FileShare.Read);
            sha.AppendData(BitConverter.GetBytes(stream.Length));
            int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            sha.AppendData(buffer, 0, read);
        }
        foreach (var t in file.Tensors)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{t.Name}:{t.Type}:{t.ShapeText}"));
            byte* data = file.GetTensorData(t);
            int n = (int)Math.Min(Sample, t.ByteSize);
            sha.AppendData(new ReadOnlySpan<byte>(data, n));
            sha.AppendData(new ReadOnlySpan<byte>(data + t.ByteSize - n, n));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
