namespace KimiSharp.Tests.Quants;

/// <summary>Deterministic test inputs: random floats with outliers, zeros, negative zeros and extreme magnitudes.</summary>
internal static class TestData
{
    public static float[] Floats(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return x;
    }

    /// <summary>Rows that stress quantizers: a normal block, an all-zero block, negative zeros, one huge outlier, tiny values, exact ties.</summary>
    public static float[] Awkward(int blockSize, int seed)
    {
        var rng = new Random(seed);
        var x = new float[blockSize * 8];
        for (int i = 0; i < blockSize; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);                 // normal
        // block 1 all zero
        for (int i = 2 * blockSize; i < 3 * blockSize; i++) x[i] = -0f;                               // negative zeros
        for (int i = 3 * blockSize; i < 4 * blockSize; i++) x[i] = (float)(rng.NextDouble() - 0.5) * 1e-3f;
        x[3 * blockSize + 5] = -1000f;                                                                 // negative outlier
        for (int i = 4 * blockSize; i < 5 * blockSize; i++) x[i] = (float)(rng.NextDouble() - 0.5) * 1e-20f; // tiny
        for (int i = 5 * blockSize; i < 6 * blockSize; i++) x[i] = (i % 5 - 2) * 63.5f / 127f;       // ties at half steps
        for (int i = 6 * blockSize; i < 7 * blockSize; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * 60000f; // large
        for (int i = 7 * blockSize; i < 8 * blockSize; i++) x[i] = (float)rng.NextDouble() + 0.5f;    // all positive
        return x;
    }
}
