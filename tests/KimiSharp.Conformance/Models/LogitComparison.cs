namespace KimiSharp.Conformance.Models;

/// <summary>Per-position agreement between two sets of logits (reference first).</summary>
public sealed record LogitComparison(int Positions, int ArgmaxAgreements, double MeanKl, double[] Kl, int FirstDivergence, string Mismatches,
    int FirstInexact, double MaxAbsDifference)
{
    public double ArgmaxAgreement => (double)ArgmaxAgreements / Positions;

    public static LogitComparison Compare(float[][] reference, float[] ours, int vocab)
    {
        int n = reference.Length, agree = 0, first = -1, firstInexact = -1;
        double maxAbs = 0;
        var kl = new double[n];
        var mismatches = new System.Text.StringBuilder();
        for (int t = 0; t < n; t++)
        {
            var mine = ours.AsSpan(t * vocab, vocab);
            kl[t] = KlDivergence(reference[t], mine);
            for (int v = 0; v < vocab; v++)
            {
                double d = Math.Abs((double)reference[t][v] - mine[v]);
                if (d > 0 && firstInexact < 0)
                    firstInexact = t;
                maxAbs = Math.Max(maxAbs, d);
            }
            int refArg = ArgMax(reference[t]), ourArg = ArgMax(mine);
            if (refArg == ourArg)
            {
                agree++;
                continue;
            }
            if (first < 0)
                first = t;
            // How close the two candidates were in llama.cpp's own logits (a near-tie flips on rounding).
            mismatches.Append($" [pos {t}: ref gap {reference[t][refArg] - reference[t][ourArg]:F4}, ours gap {mine[ourArg] - mine[refArg]:F4}]");
        }
        return new LogitComparison(n, agree, kl.Average(), kl, first, mismatches.ToString(), firstInexact, maxAbs);
    }

    /// <summary>KL(P_ref ‖ P_ours) of the softmax distributions, in nats.</summary>
    public static double KlDivergence(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        double mp = double.NegativeInfinity, mq = double.NegativeInfinity;
        foreach (var v in p) mp = Math.Max(mp, v);
        foreach (var v in q) mq = Math.Max(mq, v);
        double sp = 0, sq = 0;
        foreach (var v in p) sp += Math.Exp(v - mp);
        foreach (var v in q) sq += Math.Exp(v - mq);
        double lsp = Math.Log(sp), lsq = Math.Log(sq), kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double lp = p[i] - mp - lsp, lq = q[i] - mq - lsq;
            kl += Math.Exp(lp) * (lp - lq);
        }
        return Math.Max(0, kl);
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best])
                best = i;
        return best;
    }

    public override string ToString() =>
        $"argmax {ArgmaxAgreements}/{Positions}, mean KL {MeanKl:E2}, max |Δlogit| {MaxAbsDifference:E2} (bit-identical " +
        $"{(FirstInexact < 0 ? "everywhere" : $"before position {FirstInexact}")}), first divergence at {FirstDivergence}{Mismatches}";
}
