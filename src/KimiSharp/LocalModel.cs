using KimiSharp.Chat;
using KimiSharp.Demo;
using KimiSharp.Engine;
using KimiSharp.Gguf;
using KimiSharp.Text;

namespace KimiSharp;

/// <summary>
/// A model ready to run: the network, its tokenizer and chat formatter (from the same GGUF), and how to turn a
/// conversation or raw text into prompt tokens. Without a path it is the demo model. The terminal commands,
/// <c>kimi serve</c> and <see cref="KimiChatClient"/> all open models through it.
/// </summary>
public sealed class LocalModel : IDisposable
{
    public LocalModel(string path, ILanguageModel model, Tokenizer tokenizer, ChatFormatter formatter, bool isDemo)
    {
        Path = path;
        Model = model;
        Tokenizer = tokenizer;
        Formatter = formatter;
        IsDemo = isDemo;
    }

    public string Path { get; }
    public ILanguageModel Model { get; }
    public Tokenizer Tokenizer { get; }
    public ChatFormatter Formatter { get; }
    public bool IsDemo { get; }

    /// <summary>tokenizer.chat_template of the file, or null (the native Kimi renderer is used).</summary>
    public string? ChatTemplate { get; init; }

    /// <summary>The GGUF key/value metadata of the file (architecture, context length, tokenizer, template…); empty when built in memory.</summary>
    public GgufMetadata Metadata { get; init; } = new("", []);

    /// <summary>The name clients see: the file name without extension or split suffix.</summary>
    public string Name => NameOf(Path);

    /// <summary>"Kimi-K2-Instruct-0905-UD-Q2_K_XL-00001-of-00008.gguf" → "Kimi-K2-Instruct-0905-UD-Q2_K_XL".</summary>
    public static string NameOf(string path)
    {
        var name = System.IO.Path.GetFileNameWithoutExtension(path);
        var split = System.Text.RegularExpressions.Regex.Match(name, @"-\d{5}-of-\d{5}$");
        return split.Success ? name[..split.Index] : name;
    }

    /// <summary>Opens <paramref name="path"/> (any part of a split set), or the demo model when null (printing its notice to <paramref name="status"/>).</summary>
    public static LocalModel Open(string? path, int threads, TextWriter status, bool matchRepacking = true, bool exact = false,
        KimiSharp.Models.DeepSeek2.KvCacheType? kvType = null)
    {
        bool demo = path is null;
        if (demo)
        {
            status.WriteLine(DemoModel.Notice);
            path = DemoModel.EnsureCreated();
        }
        else if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model file not found: {path}");
        }

        Tokenizer tokenizer;
        ChatFormatter formatter;
        string? template;
        GgufMetadata metadata;
        using (var file = GgufFile.Open(path!))
        {
            metadata = file.Metadata;
            tokenizer = Tokenizer.FromGguf(metadata);
            file.Metadata.TryGetString("tokenizer.chat_template", out template);
            formatter = new ChatFormatter(template, TokenTextOrEmpty(tokenizer, tokenizer.BosId), TokenTextOrEmpty(tokenizer, tokenizer.EosId));
        }
        var model = ModelLoader.Load(path!, threads, matchRepacking, exact, kvType);
        if (model.VocabSize != tokenizer.VocabSize)
        {
            model.Dispose();
            throw new InvalidDataException($"the model has {model.VocabSize} logits but the tokenizer {tokenizer.VocabSize} tokens");
        }
        return new LocalModel(path!, model, tokenizer, formatter, demo) { ChatTemplate = template, Metadata = metadata };
    }

    /// <summary>Prompt tokens of a conversation rendered through the chat template (content never becomes control tokens).</summary>
    public int[] EncodeChat(IReadOnlyList<ChatMessage> messages)
    {
        var prompt = Formatter.Format(messages, tools: null, addGenerationPrompt: true);
        return ChatTokenization.Encode(Tokenizer, prompt);
    }

    /// <summary>Prompt tokens of raw text (special-token text is parsed, as llama.cpp's --no-template prompt).</summary>
    public int[] EncodeRaw(string text)
    {
        var ids = new List<int>();
        Tokenizer.Encode(text, parseSpecial: true, ids);
        return WithBos(ids);
    }

    private int[] WithBos(List<int> ids)
    {
        if (Tokenizer.AddBos && Tokenizer.BosId >= 0 && (ids.Count == 0 || ids[0] != Tokenizer.BosId))
            ids.Insert(0, Tokenizer.BosId);
        return ids.ToArray();
    }

    private static string TokenTextOrEmpty(Tokenizer tokenizer, int id) =>
        id >= 0 && id < tokenizer.VocabSize ? tokenizer.TokenText(id) : "";

    public void Dispose() => Model.Dispose();
}
