using KimiSharp.Hub;

namespace KimiSharp.Tests.Hub;

public class QuantSelectorTests
{
    private static HubFile F(string path) => new(path, 1, null);

    private static readonly HubFile[] Listing =
    [
        F("README.md"),
        F("Model-Q4_K.gguf"),
        F("Model-Q4_K_M.gguf"),
        F("Model-Q8_0-00001-of-00002.gguf"),
        F("Model-Q8_0-00002-of-00002.gguf"),
        F("UD-Q2_K_XL/Model-UD-Q2_K_XL-00001-of-00002.gguf"),
        F("UD-Q2_K_XL/Model-UD-Q2_K_XL-00002-of-00002.gguf"),
        F("mmproj-F16.gguf"),
    ];

    [Theory]
    [InlineData("Q4_K", "Model-Q4_K.gguf")]
    [InlineData("q4_k_m", "Model-Q4_K_M.gguf")]
    [InlineData("Q8_0", "Model-Q8_0-00001-of-00002.gguf|Model-Q8_0-00002-of-00002.gguf")]
    [InlineData("UD-Q2_K_XL", "UD-Q2_K_XL/Model-UD-Q2_K_XL-00001-of-00002.gguf|UD-Q2_K_XL/Model-UD-Q2_K_XL-00002-of-00002.gguf")]
    public void Select_picks_exactly_the_files_of_the_quant(string quant, string expected) =>
        Assert.Equal(expected.Split('|'), QuantSelector.Select(Listing, quant).Select(f => f.Path));

    [Fact]
    public void Select_without_quant_refuses_to_guess_between_several()
    {
        var e = Assert.Throws<HubException>(() => QuantSelector.Select(Listing, null));
        Assert.Contains("Q8_0", e.Message);
    }

    [Fact]
    public void Select_without_quant_takes_the_only_set()
    {
        var files = QuantSelector.Select([F("a/M-Q4_K_M-00001-of-00002.gguf"), F("a/M-Q4_K_M-00002-of-00002.gguf"), F("x.txt")], null);
        Assert.Equal(2, files.Count);
    }

    [Fact]
    public void Select_reports_a_split_set_with_missing_parts()
    {
        var e = Assert.Throws<HubException>(() => QuantSelector.Select([F("M-Q8_0-00001-of-00003.gguf"), F("M-Q8_0-00003-of-00003.gguf")], "Q8_0"));
        Assert.Contains("2 of 3", e.Message);
    }

    [Theory]
    [InlineData("owner/name:Q4_K_M", "owner/name", "Q4_K_M")]
    [InlineData("unsloth/Kimi-K2-Instruct-0905-GGUF", "unsloth/Kimi-K2-Instruct-0905-GGUF", null)]
    public void ParseReference_splits_repo_and_quant(string reference, string repo, string? quant) =>
        Assert.Equal((repo, quant), ModelPuller.ParseReference(reference));

    [Theory]
    [InlineData("noslash")]
    [InlineData("a/b/c")]
    [InlineData("../x")]
    [InlineData("owner/name:")]
    [InlineData("owner/name:Q4/../../x")]
    public void ParseReference_rejects_malformed_names(string reference) =>
        Assert.Throws<ArgumentException>(() => ModelPuller.ParseReference(reference));
}
