using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using KimiSharp.Quants;

namespace KimiSharp.Bench;

public static class Program
{
    /// <summary>
    /// `report` runs the quant benchmarks and prints a GB/s table (ours vs ggml, with the streaming ceiling);
    /// anything else goes to BenchmarkDotNet's switcher (e.g. --filter *MatVec*).
    /// </summary>
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "quick")
        {
            QuickCompare.Run(args.Skip(1).ToArray());
            return;
        }
        if (args.Length > 0 && args[0] == "stages")
        {
            StageProbe.Run(args[1], int.Parse(args[2]), args.Contains("--exact"),
                args.SkipWhile(a => a != "-t").Skip(1).Select(int.Parse).DefaultIfEmpty(2).First());
            return;
        }
        if (args.Length > 0 && args[0] == "attention")
        {
            AttentionProbe.Run(args[1], args.Skip(2).Select(int.Parse).ToArray());
            return;
        }
        if (args.Length > 0 && args[0] == "attention-kernel")
        {
            AttentionKernelProbe.Run(args.Skip(1).ToArray());
            return;
        }
        if (args.Length > 0 && args[0] == "decode-stages")
        {
            DecodeStageProbe.Run(args[1], int.Parse(args[2]), args.Length > 3 ? int.Parse(args[3]) : 8);
            return;
        }
        if (args.Length > 0 && args[0] == "dram")
        {
            foreach (var t in args.Skip(1)) DramProbe.Run(Enum.Parse<GgmlType>(t));
            return;
        }
        if (args.Length > 0 && args[0] == "kernels")
        {
            KernelCompare.Run(args.Skip(1).ToArray());
            return;
        }
        if (args.Length > 0 && args[0] == "modes")
        {
            ModeCompare.Run(args[1], args.Length > 2 ? int.Parse(args[2]) : 512, args.Length > 3 ? int.Parse(args[3]) : 64,
                args.Length > 4 ? int.Parse(args[4]) : 3, args.Length > 5 ? int.Parse(args[5]) : 2);
            return;
        }
        if (args.Length > 0 && args[0] == "moe")
        {
            MoeBench.Run(Enum.Parse<GgmlType>(args[1]), int.Parse(args[2]), args.Length > 3 ? int.Parse(args[3]) : 1);
            return;
        }
        if (args.Length > 0 && args[0] == "tiles")
        {
            TileBench.Run(args.Skip(1).ToArray());
            return;
        }
        if (args.Length > 0 && args[0] == "bandwidth")
        {
            QuickCompare.Bandwidth();
            return;
        }
        if (args.Length > 0 && args[0] == "tokenizer")
        {
            Text.TokenizerBench.Quick();
            return;
        }
        if (args.Length > 0 && args[0] == "enforcer-probe")
        {
            Grammar.EnforcerProbe.Run();
            return;
        }
        if (args.Length > 0 && args[0] == "enforcer")
        {
            Grammar.EnforcerBench.Run(args.Skip(1).ToArray());
            return;
        }
        if (args.Length > 0 && args[0] == "report")
        {
            Report(args.Skip(1).ToArray());
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }

    private static void Report(string[] types)
    {
        var bandwidth = BenchmarkRunner.Run<BandwidthBench>();
        double Gbps(Summary s, string method, long bytes) =>
            s.Reports.Where(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method && r.ResultStatistics != null)
                .Select(r => bytes / r.ResultStatistics!.Mean).FirstOrDefault(); // bytes per ns = GB/s
        var lines = new List<string>
        {
            $"Simd path: {Simd.Best}, AVX-VNNI: {Simd.HasAvxVnni}, threads: {BandwidthBench.Threads}",
            $"Streaming read, 1 thread: {Gbps(bandwidth, nameof(BandwidthBench.StreamRead1Thread), BandwidthBench.StreamBytes):F1} GB/s",
            $"Streaming read, {BandwidthBench.Threads} threads: {Gbps(bandwidth, nameof(BandwidthBench.StreamReadAllThreads), BandwidthBench.StreamBytes):F1} GB/s",
            $"Q4_K mat-vec {BandwidthBench.Q4KRows}x{BandwidthBench.Q4KCols} ({BandwidthBench.Q4KBytes / 1e6:F0} MB), {BandwidthBench.Threads} threads: " +
            $"{Gbps(bandwidth, nameof(BandwidthBench.Q4KMatVecAllThreads), BandwidthBench.Q4KBytes):F1} GB/s",
            "",
            "| type | ours GB/s | ggml GB/s | ours/ggml |",
            "|------|----------:|----------:|----------:|",
        };
        var matvec = BenchmarkRunner.Run<MatVecBench>();
        foreach (var group in matvec.Reports.GroupBy(r => r.BenchmarkCase.Parameters["Type"]!.ToString()))
        {
            var type = Enum.Parse<GgmlType>(group.Key!);
            long bytes = MatVecBench.TargetBytes / GgmlTypes.Get(type).RowBytes(MatVecBench.Cols) * GgmlTypes.Get(type).RowBytes(MatVecBench.Cols);
            double Rate(string m) => group.Where(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == m && r.ResultStatistics != null)
                .Select(r => bytes / r.ResultStatistics!.Mean).FirstOrDefault();
            double ours = Rate(nameof(MatVecBench.Ours)), ggml = Rate(nameof(MatVecBench.Ggml));
            lines.Add($"| {type} | {ours:F1} | {ggml:F1} | {ours / ggml:F2} |");
        }
        _ = types;
        Console.WriteLine(string.Join(Environment.NewLine, lines));
        Directory.CreateDirectory("BenchmarkDotNet.Artifacts");
        File.WriteAllLines(Path.Combine("BenchmarkDotNet.Artifacts", "quant-bench-report.md"), lines);
    }
}
