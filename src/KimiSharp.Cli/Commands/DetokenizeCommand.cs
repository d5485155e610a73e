using System.CommandLine;
using KimiSharp.Gguf;
using KimiSharp.Text;

namespace KimiSharp.Cli.Commands;

public static class DetokenizeCommand
{
    public static Command Create()
    {
        var command = new Command("detokenize", "Turn token ids back into text");
        var model = new Option<string>("--model") { Description = "GGUF file (any part of a split set)", Required = true };
        var tokens = new Option<string>("--tokens") { Description = "Token ids, comma- or space-separated (a JSON array works too)", Required = true };
        command.Options.Add(model);
        command.Options.Add(tokens);
        command.SetAction(result => CliErrors.Guard(() =>
        {
            int[] ids = ParseIds(result.GetValue(tokens)!);
            using var file = GgufFile.Open(result.GetValue(model)!);
            var tokenizer = Tokenizer.FromGguf(file.Metadata);
            foreach (int id in ids)
            {
                if (id < 0 || id >= tokenizer.VocabSize)
                    throw new ArgumentException($"token id {id} is outside the vocabulary (0..{tokenizer.VocabSize - 1})");
            }
            // Exactly the decoded text, nothing appended (a cut UTF-8 character prints as U+FFFD).
            Console.Out.Write(tokenizer.Decode(ids));
            Console.Out.Flush();
            return 0;
        }));
        return command;
    }

    internal static int[] ParseIds(string text)
    {
        var parts = text.Split([',', ' ', '\t', '\n', '\r', '[', ']'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new ArgumentException("--tokens has no ids");
        return parts.Select(p => int.TryParse(p, out int id) ? id : throw new ArgumentException($"'{p}' is not a token id")).ToArray();
    }
}
