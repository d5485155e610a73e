using KimiSharp.Cli;

namespace KimiSharp.Tests.Cli;

public class ExactOptionTests
{
    [Theory]
    [InlineData("run", "hi")]
    [InlineData("chat")]
    [InlineData("serve")]
    [InlineData("bench")]
    [InlineData("logits", "--model", "m.gguf", "--tokens", "1", "--out", "o.bin")]
    [InlineData("perplexity", "--model", "m.gguf", "--text-file", "t.txt")]
    public void Exact_is_a_flag_of_every_command_that_loads_a_model(params string[] args)
    {
        var parsed = Program.BuildRoot().Parse([.. args, "--exact"]);
        Assert.Empty(parsed.Errors);
        Assert.True(parsed.GetValue<bool>("--exact"));
        Assert.False(Program.BuildRoot().Parse(args).GetValue<bool>("--exact"));
    }

    [Fact]
    public void Exact_is_rejected_where_no_model_runs() =>
        Assert.NotEmpty(Program.BuildRoot().Parse(["tokenize", "--model", "m.gguf", "--text-file", "t.txt", "--exact"]).Errors);
}
