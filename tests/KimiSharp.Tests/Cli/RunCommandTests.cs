using KimiSharp.Cli;
using KimiSharp.Cli.Commands;
using KimiSharp.Engine;
using KimiSharp.Sampling;

namespace KimiSharp.Tests.Cli;

// In-process CLI runs write to the process-wide Console: never in parallel with tests that capture it.
[Collection("Console")]
public class RunCommandTests
{
    [Fact]
    public async Task Run_renders_the_template_streams_the_answer_and_reports_timings()
    {
        var (model, network, tokenizer) = CliTestModel.Answering("Bonjour!");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var settings = new RunSettings("Say hi", "You are terse.", Raw: false, SamplingParams.Greedy, MaxTokens: null, ContextLength: 512, Verbose: true, IgnoreEndOfGeneration: false);

        var result = await RunCommand.RunAsync(model, settings, stdout, stderr, CancellationToken.None);

        Assert.Equal("Bonjour!\n", stdout.ToString().ReplaceLineEndings("\n"));
        Assert.Equal(FinishReason.Stop, result.Finish.Reason);
        string prompt = tokenizer.Decode(result.PromptTokens);
        Assert.Contains("You are terse.", prompt);
        Assert.Contains("Say hi", prompt);
        Assert.EndsWith("<|im_middle|>", prompt);
        Assert.Contains("tok/s", stderr.ToString());
        Assert.Equal(result.PromptTokens, network.Steps[0].Segments.Single().Tokens);
    }

    [Fact]
    public async Task Raw_run_uses_the_prompt_as_is_and_stops_at_the_token_limit()
    {
        var (model, _, tokenizer) = CliTestModel.Answering("abcdefghijklmnop");
        var settings = new RunSettings("plain text", null, Raw: true, SamplingParams.Greedy, MaxTokens: 3, ContextLength: 512, Verbose: false, IgnoreEndOfGeneration: false);
        var result = await RunCommand.RunAsync(model, settings, TextWriter.Null, TextWriter.Null, CancellationToken.None);
        Assert.Equal(tokenizer.Encode("plain text"), result.PromptTokens);
        Assert.Equal(3, result.Tokens.Length);
        Assert.Equal(FinishReason.Length, result.Finish.Reason);
    }

    [Fact]
    public void Run_with_a_missing_model_file_fails_with_exit_code_1()
    {
        int code = Program.BuildRoot().Parse(["run", "--model", "/nonexistent/model.gguf", "hello"]).Invoke();
        Assert.Equal(1, code);
    }
}
