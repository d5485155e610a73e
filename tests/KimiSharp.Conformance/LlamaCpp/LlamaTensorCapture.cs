using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace KimiSharp.Conformance.LlamaCpp;

/// <summary>One intermediate tensor of llama.cpp's graph as computed (F32 only), e.g. "ffn_moe_logits-1".</summary>
/// <param name="Shape">ggml's ne[0..3] (ne[0] is the contiguous dimension).</param>
/// <param name="Values">Elements in ggml index order (i0 fastest), gathered through the strides.</param>
public sealed record CapturedTensor(string Name, long[] Shape, float[] Values);

/// <summary>
/// Collects llama.cpp's intermediate tensors through the context's eval callback (llama_context_params.cb_eval):
/// every F32 tensor the scheduler computes is copied out by name, in graph order. Used to find the first op where
/// our forward pass and llama.cpp's part ways. Reads <c>struct ggml_tensor</c> directly (layout of ggml.h with
/// GGML_MAX_DIMS 4, GGML_MAX_OP_PARAMS 64, GGML_MAX_SRC 10, GGML_MAX_NAME 64), checked for sanity on every tensor.
/// </summary>
public static unsafe class LlamaTensorCapture
{
    private const int TypeOffset = 0, NeOffset = 16, NbOffset = 48, DataOffset = 248, NameOffset = 256, NameLength = 64;

    private static readonly object Gate = new();
    private static List<CapturedTensor>? _sink;

    /// <summary>The callback to put in cb_eval (user data unused; one capture runs at a time).</summary>
    public static nint Callback => (nint)(delegate* unmanaged<nint, byte, nint, byte>)&OnTensor;

    /// <summary>Runs <paramref name="action"/> with capture on and returns every F32 tensor computed meanwhile.</summary>
    public static List<CapturedTensor> Capture(Action action)
    {
        lock (Gate)
        {
            _sink = [];
            try
            {
                action();
                return _sink;
            }
            finally
            {
                _sink = null;
            }
        }
    }

    [UnmanagedCallersOnly]
    private static byte OnTensor(nint tensor, byte ask, nint userData)
    {
        if (ask != 0)
            return 1; // yes: we want to see every tensor
        var sink = _sink;
        if (sink == null)
            return 1;
        byte* t = (byte*)tensor;
        int type = *(int*)(t + TypeOffset);
        if (type != 0) // GGML_TYPE_F32 only
            return 1;
        var ne = new long[4];
        var nb = new long[4];
        for (int i = 0; i < 4; i++)
        {
            ne[i] = *(long*)(t + NeOffset + 8 * i);
            nb[i] = *(long*)(t + NbOffset + 8 * i);
            if (ne[i] <= 0 || ne[i] > (1L << 31) || nb[i] <= 0)
                return 1; // not a layout we understand: skip rather than read wild memory
        }
        byte* data = *(byte**)(t + DataOffset);
        if (data == null)
            return 1;
        int nameLength = 0;
        while (nameLength < NameLength && t[NameOffset + nameLength] != 0)
            nameLength++;
        string name = Encoding.ASCII.GetString(t + NameOffset, nameLength);
        long count = ne[0] * ne[1] * ne[2] * ne[3];
        if (count > 50_000_000)
            return 1;
        var values = new float[count];
        long k = 0;
        for (long i3 = 0; i3 < ne[3]; i3++)
            for (long i2 = 0; i2 < ne[2]; i2++)
                for (long i1 = 0; i1 < ne[1]; i1++)
                    for (long i0 = 0; i0 < ne[0]; i0++)
                        values[k++] = *(float*)(data + i0 * nb[0] + i1 * nb[1] + i2 * nb[2] + i3 * nb[3]);
        sink.Add(new CapturedTensor(name, ne, values));
        return 1;
    }
}
