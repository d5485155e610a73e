using KimiSharp.Chat;
using KimiSharp.Cli.Commands;
using KimiSharp.Tests.Engine;
using KimiSharp.Text;

namespace KimiSharp.Tests.Cli;

/// <summary>A LocalModel over the test vocabulary and Kimi template whose network always answers <paramref name="answer"/> then &lt;|im_end|&gt;.</summary>
internal static class CliTestModel
{
    public static (LocalModel Model, ScriptedLanguageModel Network, Tokenizer Tokenizer) Answering(string answer)
    {
        var tokenizer = Tokenizer.Create(TestVocabulary.Build());
        tokenizer.TryGetId("<|im_end|>", out int imEnd);
        tokenizer.TryGetId("<|im_middle|>", out int imMiddle);
        int[] answerIds = [.. tokenizer.Encode(answer), imEnd];
        // The answer starts after the last <|im_middle|> of the prompt (the assistant header).
        var network = new ScriptedLanguageModel(tokenizer.VocabSize, tokens =>
        {
            int start = tokens.Count;
            for (int i = tokens.Count - 1; i >= 0; i--)
                if (tokens[i] == imMiddle) { start = i + 1; break; }
            int k = tokens.Count - start;
            return answerIds[Math.Min(k, answerIds.Length - 1)];
        });
        var formatter = new ChatFormatter(KimiChatTemplate.Source, "[BOS]", "[EOS]");
        return (new LocalModel("scripted.gguf", network, tokenizer, formatter, isDemo: false), network, tokenizer);
    }
}
