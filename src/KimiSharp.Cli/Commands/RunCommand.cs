using System.CommandLine;
using KimiSharp.Chat;
using KimiSharp.Engine;
using KimiSharp.Sampling;

namespace KimiSharp.Cli.Commands;

public static class RunCommand
{
    public static Command Create()
    {
        var command = new Command("run", "Generate a reply to one prompt and stream it to stdout");
        var prompt = new Argument<string?>("prompt") { Description = "The prompt (read from stdin when absent)", Arity = ArgumentArity.ZeroOrOne };
        var system = new Option<string?>("--system") { Description = "System prompt (chat template mode)" };
        var raw = new Option<bool>("--raw") { Description = "Use the prompt as is, without the chat template" };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "Do not stop at end-of-generation tokens" };
        var options = new GenerationOptions();
        command.Arguments.Add(prompt);
        command.Options.Add(system);
        command.Options.Add(raw);
        command.Options.Add(ignoreEos);
        options.AddTo(command);
        command.SetAction((result, ct) => CliErrors.GuardAsync(async () =>
        {
            string text = result.GetValue(prompt) ?? (Console.IsInputRedirected
                ? await Console.In.ReadToEndAsync(ct)
                : throw new ArgumentException("no prompt: pass it as an argument or on stdin"));
            var settings = new RunSettings(text, result.GetValue(system), result.GetValue(raw), options.Sampling(result),
                options.MaxTokens(result), options.ContextLength(result), result.GetValue(options.Verbose), result.GetValue(ignoreEos));
            using var model = LocalModel.Open(result.GetValue(options.Model), options.ThreadCount(result), Console.Error, exact: result.GetValue(options.Exact));
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                cancel.Cancel();
            };
            Console.CancelKeyPress += onCancel;
            try
            {
                var run = await RunAsync(model, settings, Console.Out, Console.Error, cancel.Token);
                return run.Finish.Reason == FinishReason.Cancelled ? 130 : 0;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }));
        return command;
    }

    /// <summary>Renders the prompt, generates, streams text to <paramref name="stdout"/>; timings to <paramref name="stderr"/> when verbose.</summary>
    internal static async Task<RunResult> RunAsync(LocalModel model, RunSettings settings, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        int[] promptTokens;
        if (settings.Raw)
        {
            promptTokens = model.EncodeRaw(settings.Prompt);
        }
        else
        {
            var messages = new List<ChatMessage>();
            if (!string.IsNullOrEmpty(settings.System)) messages.Add(new ChatMessage("system", settings.System));
            messages.Add(new ChatMessage("user", settings.Prompt));
            promptTokens = model.EncodeChat(messages);
        }

        using var engine = new InferenceEngine(model.Model, model.Tokenizer,
            new EngineOptions { ContextLength = settings.ContextLength, MaxActiveSequences = 1 });
        var request = new GenerationRequest(promptTokens)
        {
            Sampling = settings.Sampling,
            MaxTokens = settings.MaxTokens,
            IgnoreEndOfGeneration = settings.IgnoreEndOfGeneration,
        };
        var tokens = new List<int>();
        var text = new System.Text.StringBuilder();
        FinishEvent? finish = null;
        await foreach (var e in engine.GenerateAsync(request, ct))
        {
            switch (e)
            {
                case TokenEvent t:
                    tokens.Add(t.TokenId);
                    Write(t.TextDelta);
                    break;
                case TextEvent t:
                    Write(t.TextDelta);
                    break;
                case FinishEvent f:
                    finish = f;
                    break;
            }
        }
        stdout.WriteLine();
        stdout.Flush();
        if (settings.Verbose)
            stderr.WriteLine(Describe(finish!));
        return new RunResult(promptTokens, tokens.ToArray(), text.ToString(), finish!);

        void Write(string delta)
        {
            if (delta.Length == 0) return;
            text.Append(delta);
            stdout.Write(delta);
            stdout.Flush();
        }
    }

    internal static string Describe(FinishEvent finish)
    {
        var t = finish.Timings;
        return $"prompt: {t.PromptTokens} tokens in {t.PromptMs:F1} ms ({t.PromptTokensPerSecond:F1} tok/s) | " +
               $"generation: {finish.Usage.CompletionTokens} tokens, {t.DecodeTokens} steps in {t.DecodeMs:F1} ms ({t.DecodeTokensPerSecond:F1} tok/s) | " +
               $"finish: {finish.Reason.ToString().ToLowerInvariant()}";
    }
}

internal sealed record RunSettings(
    string Prompt,
    string? System,
    bool Raw,
    SamplingParams Sampling,
    int? MaxTokens,
    int ContextLength,
    bool Verbose,
    bool IgnoreEndOfGeneration);

internal sealed record RunResult(int[] PromptTokens, int[] Tokens, string Text, FinishEvent Finish);
