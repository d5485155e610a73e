using System.Text;

namespace KimiSharp.Text;

/// <summary>
/// A small byte-level BPE vocabulary ("gpt2" model, pre-tokenizer "kimi-k2") with Kimi-K2's special tokens, for
/// generated test models. Layout: ids 0–255 are the 256 byte tokens (id = byte value, GPT-2 byte-to-unicode text),
/// then one token per merge (merges learned deterministically from <see cref="TrainingText"/>), then the special
/// tokens, then unused "[PAD{id}]" fillers up to a multiple of 64, the last one being "[PAD]".
/// </summary>
public static class TestVocabulary
{
    /// <summary>How many merges are learned (fewer if the training text runs out of repeated pairs).</summary>
    public const int MergeCount = 320;

    /// <summary>Kimi's special tokens in the order they get ids, with the llama.cpp token type each gets.</summary>
    public static IReadOnlyList<(string Text, TokenType Type)> SpecialTokens { get; } =
    [
        ("[BOS]", TokenType.Control),
        ("[EOS]", TokenType.Control),
        ("<|im_end|>", TokenType.Control),
        ("<|im_user|>", TokenType.Control),
        ("<|im_assistant|>", TokenType.Control),
        ("<|im_system|>", TokenType.Control),
        ("<|im_middle|>", TokenType.Control),
        ("[EOT]", TokenType.Control),
        // Kimi's tokenizer_config marks the five tool-call markers "special": false.
        ("<|tool_calls_section_begin|>", TokenType.UserDefined),
        ("<|tool_calls_section_end|>", TokenType.UserDefined),
        ("<|tool_call_begin|>", TokenType.UserDefined),
        ("<|tool_call_argument_begin|>", TokenType.UserDefined),
        ("<|tool_call_end|>", TokenType.UserDefined),
    ];

    private static readonly Lazy<string[]> LearnedMerges = new(() => LearnMerges(TrainingText.ReplaceLineEndings("\n"), MergeCount));

    public static TokenizerData Build()
    {
        var tokens = new List<string>(1024);
        var types = new List<int>(1024);
        for (int b = 0; b < 256; b++)
        {
            tokens.Add(ByteLevel.ByteToChar((byte)b).ToString());
            types.Add((int)TokenType.Normal);
        }

        string[] merges = (string[])LearnedMerges.Value.Clone();
        foreach (string merge in merges)
        {
            tokens.Add(merge.Replace(" ", "", StringComparison.Ordinal));
            types.Add((int)TokenType.Normal);
        }

        int firstSpecial = tokens.Count;
        foreach (var (text, type) in SpecialTokens)
        {
            tokens.Add(text);
            types.Add((int)type);
        }

        int total = (tokens.Count + 1 + 63) / 64 * 64; // +1: room for [PAD]
        while (tokens.Count < total - 1)
        {
            tokens.Add($"[PAD{tokens.Count}]");
            types.Add((int)TokenType.Unused);
        }
        int padId = tokens.Count;
        tokens.Add("[PAD]");
        types.Add((int)TokenType.Control);

        return new TokenizerData(
            Model: "gpt2",
            Pre: "kimi-k2",
            Tokens: tokens.ToArray(),
            Merges: merges,
            TokenTypes: types.ToArray(),
            BosId: firstSpecial,          // [BOS]
            EosId: firstSpecial + 2,      // <|im_end|>, as in Unsloth's Kimi GGUFs
            PadId: padId,
            AddBos: false);
    }

    /// <summary>
    /// Classic BPE training: split the text into words (a leading space stays with its word), count adjacent symbol
    /// pairs weighted by word frequency, merge the most frequent pair (ties: ordinal order of "left right"), repeat.
    /// Each merged symbol is a concatenation of byte-level characters, so every merge result is a new token.
    /// </summary>
    private static string[] LearnMerges(string text, int count)
    {
        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string word in SplitWords(text))
        {
            string byteLevel = ByteLevel.Encode(Encoding.UTF8.GetBytes(word));
            wordCounts[byteLevel] = wordCounts.GetValueOrDefault(byteLevel) + 1;
        }

        var words = wordCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (Symbols: kv.Key.Select(c => c.ToString()).ToList(), kv.Value))
            .ToList();

        var merges = new List<string>(count);
        var pairCounts = new Dictionary<(string, string), int>();
        while (merges.Count < count)
        {
            pairCounts.Clear();
            foreach (var (symbols, freq) in words)
            {
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    var pair = (symbols[i], symbols[i + 1]);
                    pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + freq;
                }
            }

            (string Left, string Right) best = default;
            int bestCount = 1;
            foreach (var (pair, n) in pairCounts)
            {
                if (n > bestCount || (n == bestCount && best.Left is not null && Compare(pair, best) < 0))
                {
                    if (n < 2) continue;
                    best = pair;
                    bestCount = n;
                }
            }
            if (best.Left is null) break;

            merges.Add(best.Left + " " + best.Right);
            string joined = best.Left + best.Right;
            foreach (var (symbols, _) in words)
            {
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] == best.Left && symbols[i + 1] == best.Right)
                    {
                        symbols[i] = joined;
                        symbols.RemoveAt(i + 1);
                    }
                }
            }
        }
        return merges.ToArray();
    }

    private static int Compare((string Left, string Right) a, (string Left, string Right) b)
    {
        int c = string.CompareOrdinal(a.Left, b.Left);
        return c != 0 ? c : string.CompareOrdinal(a.Right, b.Right);
    }

    /// <summary>Words for training: an optional single space followed by a run of letters, digits or other chars.</summary>
    private static IEnumerable<string> SplitWords(string text)
    {
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            if (text[i] == ' ' && i + 1 < text.Length && text[i + 1] != ' ') i++;
            int kind = Kind(text[i]);
            i++;
            while (i < text.Length && Kind(text[i]) == kind && kind != 3) i++;
            yield return text[start..i];
        }
    }

    private static int Kind(char c) =>
        char.IsLetter(c) && c < 0x2E80 ? 0 : char.IsDigit(c) ? 1 : char.IsWhiteSpace(c) ? 2 : 3;

    /// <summary>Built-in training text: English prose, C# and Python code, Chinese, and chat-shaped text.</summary>
    public const string TrainingText = """
        The quick brown fox jumps over the lazy dog. The dog was not amused, but the fox did not care.
        Once upon a time there was a small model that wanted to learn the world. It read the text again and again,
        and every time it read the text it learned a little more about the words that people use the most.
        What is the capital of France? The capital of France is Paris. What is the capital of Germany? It is Berlin.
        Please write a function that returns the sum of two numbers. Here is the function you asked for.
        I think that this is a good idea, and I would like to know what you think about it. Thank you for the help!
        The weather today is sunny with a high of 25 degrees. Tomorrow there will be rain in the morning and the evening.
        You are a helpful assistant. You answer questions and you call tools when the user asks for information.
        The user wants to get the weather in the city, so the assistant calls the get_weather function with the city.
        public static int Add(int a, int b)
        {
            return a + b;
        }
        public sealed class Tokenizer
        {
            private readonly Dictionary<string, int> _tokens = new();
            public int Count => _tokens.Count;
            public string Name { get; set; } = "tokenizer";
        }
        for (int i = 0; i < count; i++)
        {
            if (values[i] > max) max = values[i];
        }
        def add(a, b):
            return a + b

        def main():
            for i in range(10):
                print(f"value {i} = {add(i, i)}")
            return None

        if __name__ == "__main__":
            main()
        {"name": "get_weather", "arguments": {"city": "Beijing", "unit": "celsius"}}
        {"type": "function", "function": {"name": "search", "description": "Search the web", "parameters": {}}}
        今天天气很好，我们去公园散步吧。你好，世界！我是一个人工智能助手，我可以回答你的问题。
        中国的首都是北京。北京是一个历史悠久的城市，有很多名胜古迹。上海是中国最大的城市之一。
        我们今天学习了很多新的知识，明天我们还要继续学习。谢谢你的帮助！请问你需要什么帮助？
        人工智能正在改变我们的生活和工作方式。大语言模型可以写文章、写代码、翻译和回答问题。
        Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000 2024 2025 3.14 42 and the year 1999.
        The assistant said: "Hello! How can I help you today?" The user said: "Tell me a story about the sea."
        There were many ships on the sea, and the sailors on the ships sang songs about the wind and the waves.
        """;
}
