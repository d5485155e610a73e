using System.CommandLine;
using System.Text;
using KimiSharp.Gguf;
using KimiSharp.Text;

namespace KimiSharp.Cli.Commands;

public static class TokenizeCommand
{
    public static Command Create()
    {
        var command = new Command("tokenize", "Turn text into token ids with a model's tokenizer");
        var model = new Option<string>("--model") { Description = "GGUF file (any part of a split set)", Required = true };
        var textFile = new Option<string?>("--text-file") { Description = "UTF-8 text file to tokenize ('-' reads stdin)" };
        var text = new Option<string?>("--text") { Description = "Text to tokenize (instead of --text-file)" };
        var special = new Option<bool>("--special") { Description = "Recognise special tokens such as <|im_end|> in the text" };
        var json = new Option<bool>("--json") { Description = "Print only the ids, as a JSON array" };
        command.Options.Add(model);
        command.Options.Add(textFile);
        command.Options.Add(text);
        command.Options.Add(special);
        command.Options.Add(json);
        command.SetAction(result => CliErrors.Guard(() =>
        {
            string input = ReadInput(result.GetValue(text), result.GetValue(textFile));
            using var file = GgufFile.Open(result.GetValue(model)!);
            var tokenizer = Tokenizer.FromGguf(file.Metadata);
            int[] ids = tokenizer.Encode(input, result.GetValue(special));

            var output = new StringBuilder();
            if (result.GetValue(json))
            {
                output.Append('[').AppendJoin(",", ids).Append("]\n");
            }
            else
            {
                foreach (int id in ids)
                    output.Append(id.ToString().PadLeft(8)).Append("  ").Append(Quote(tokenizer.TokenBytes(id))).Append('\n');
                output.Append(ids.Length).Append(" tokens\n");
            }
            Console.Out.Write(output.ToString());
            return 0;
        }));
        return command;
    }

    private static string ReadInput(string? text, string? textFile)
    {
        if (text is not null && textFile is not null) throw new ArgumentException("give either --text or --text-file, not both");
        if (text is not null) return text;
        if (textFile is null) throw new ArgumentException("give --text-file FILE (or --text TEXT)");
        if (textFile == "-")
        {
            using var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
            return stdin.ReadToEnd();
        }
        if (!File.Exists(textFile)) throw new FileNotFoundException($"text file '{textFile}' not found");
        return File.ReadAllText(textFile, new UTF8Encoding(false));
    }

    /// <summary>A token's bytes as a quoted, escaped string (control characters and invalid UTF-8 as \xNN).</summary>
    internal static string Quote(byte[] bytes)
    {
        var sb = new StringBuilder("'");
        int i = 0;
        while (i < bytes.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(bytes.AsSpan(i), out var rune, out int consumed);
            if (status != System.Buffers.OperationStatus.Done)
            {
                sb.Append($"\\x{bytes[i]:X2}");
                i++;
                continue;
            }
            sb.Append(rune.Value switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\'' => "\\'",
                '\\' => "\\\\",
                < 0x20 or 0x7F => $"\\x{rune.Value:X2}",
                _ => rune.ToString(),
            });
            i += consumed;
        }
        return sb.Append('\'').ToString();
    }
}
