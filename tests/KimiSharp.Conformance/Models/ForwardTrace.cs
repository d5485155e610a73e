using System.Text;
using KimiSharp.Conformance.LlamaCpp;
using KimiSharp.Models.DeepSeek2;

namespace KimiSharp.Conformance.Models;

/// <summary>How one of our intermediate tensors compares with llama.cpp's tensor of the same name.</summary>
public sealed record TensorDifference(string Name, int Count, int Differing, double MaxAbs, int FirstIndex)
{
    public bool BitIdentical => Differing == 0;

    public override string ToString() => BitIdentical
        ? $"{Name}: identical ({Count})"
        : $"{Name}: {Differing}/{Count} differ, max |Δ| {MaxAbs:E2}, first at {FirstIndex}";
}

/// <summary>
/// Runs the same tokens through llama.cpp (capturing its graph tensors) and through our forward pass (observing ours
/// under llama.cpp's names) and compares them tensor by tensor in graph order: the first inexact tensor names the op
/// where the two part ways.
/// </summary>
public static class ForwardTrace
{
    public static (List<TensorDifference> Differences, List<CapturedTensor> Llama, List<(string Name, float[] Values)> Ours)
        Run(string path, int[] tokens, int threads = 2, ModelOptions? options = null)
    {
        List<CapturedTensor> theirs;
        using (var llama = LlamaReference.Load(path, contextSize: Math.Max(64, tokens.Length), threads: threads))
            theirs = llama.EvaluateAllCapturing(tokens).Tensors;
        var ours = new List<(string, float[])>();
        using var model = DeepSeek2Model.Load(path, options ?? new ModelOptions(threads, Exact: true));
        model.Forward.Observer = (name, values) => ours.Add((name, values.ToArray()));
        try
        {
            using var session = model.CreateSession(tokens.Length);
            session.ForwardAll(tokens, new float[tokens.Length * model.VocabSize]);
        }
        finally
        {
            model.Forward.Observer = null;
        }
        return (Compare(theirs, ours), theirs, ours);
    }

    public static List<TensorDifference> Compare(List<CapturedTensor> theirs, List<(string Name, float[] Values)> ours)
    {
        var result = new List<TensorDifference>();
        foreach (var (name, values) in ours)
        {
            var match = theirs.LastOrDefault(t => t.Name == name && t.Values.Length == values.Length);
            if (match == null)
                continue;
            int differing = 0, first = -1;
            double maxAbs = 0;
            for (int i = 0; i < values.Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(values[i]) == BitConverter.SingleToInt32Bits(match.Values[i]))
                    continue;
                differing++;
                if (first < 0)
                    first = i;
                maxAbs = Math.Max(maxAbs, Math.Abs((double)values[i] - match.Values[i]));
            }
            result.Add(new TensorDifference(name, values.Length, differing, maxAbs, first));
        }
        return result;
    }

    public static string Describe(IEnumerable<TensorDifference> differences)
    {
        var sb = new StringBuilder();
        foreach (var d in differences)
            sb.AppendLine(d.ToString());
        return sb.ToString();
    }
}
