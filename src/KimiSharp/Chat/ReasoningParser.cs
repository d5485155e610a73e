using System.Text;

namespace KimiSharp.Chat;

/// <summary>
/// Splits a thinking model's streamed output into reasoning and answer (one instance per request). The output
/// is <c>&lt;think&gt;reasoning&lt;/think&gt;answer</c> (Kimi-K2-Thinking writes the opening tag itself; a template
/// whose generation prompt already ends with it starts the parser inside the reasoning). Output that does not
/// start with <c>&lt;think&gt;</c> is all answer. Whitespace between <c>&lt;/think&gt;</c> and the answer is dropped.
/// A tool-call section that begins inside the reasoning ends it (the model skipped <c>&lt;/think&gt;</c>): the section
/// goes to the answer, where the tool-call parser reads it. Tags split across pushes are held back until decided;
/// any chunking of the same text gives the same reasoning and answer.
/// </summary>
public sealed class ReasoningParser
{
    public const string Open = "<think>";
    public const string Close = "</think>";

    private static readonly string[] ReasoningEnds = [Close, ToolCallParser.SectionBegin, ToolCallParser.SectionBeginSingular];

    private enum State { Start, Reasoning, AfterReasoning, Answer }

    private readonly StringBuilder _held = new();
    private State _state;

    /// <param name="startsInReasoning">The prompt already opened the reasoning (it ends with <c>&lt;think&gt;</c>).</param>
    public ReasoningParser(bool startsInReasoning = false) => _state = startsInReasoning ? State.Reasoning : State.Start;

    /// <summary>True while the output is reasoning (or may still turn out to be).</summary>
    public bool InReasoning => _state is State.Start or State.Reasoning;

    /// <summary>Adds generated text; returns the reasoning and then the answer text it completes (either may be empty).</summary>
    public (string Reasoning, string Answer) Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _held.Append(text);
        var reasoning = new StringBuilder();
        var answer = new StringBuilder();
        Process(reasoning, answer, final: false);
        return (reasoning.ToString(), answer.ToString());
    }

    /// <summary>End of generation: releases whatever was held back.</summary>
    public (string Reasoning, string Answer) Finish()
    {
        var reasoning = new StringBuilder();
        var answer = new StringBuilder();
        Process(reasoning, answer, final: true);
        return (reasoning.ToString(), answer.ToString());
    }

    private void Process(StringBuilder reasoning, StringBuilder answer, bool final)
    {
        while (_held.Length > 0)
        {
            string held = _held.ToString();
            switch (_state)
            {
                case State.Start:
                {
                    int start = 0;
                    while (start < held.Length && char.IsWhiteSpace(held[start])) start++;
                    var rest = held.AsSpan(start);
                    if (rest.StartsWith(Open, StringComparison.Ordinal))
                    {
                        _held.Remove(0, start + Open.Length);
                        _state = State.Reasoning;
                        continue;
                    }

                    if (!final && Open.AsSpan().StartsWith(rest))
                        return; // still undecided (empty or a prefix of "<think>")
                    _state = State.Answer;
                    continue;
                }

                case State.Reasoning:
                {
                    int at = IndexOfEnd(held, out var end);
                    if (at >= 0)
                    {
                        reasoning.Append(held, 0, at);
                        bool closed = end == Close;
                        _held.Remove(0, at + (closed ? Close.Length : 0));
                        _state = closed ? State.AfterReasoning : State.Answer;
                        continue;
                    }

                    int keep = final ? 0 : PartialMatch.HeldSuffixLength(held, ReasoningEnds);
                    reasoning.Append(held, 0, held.Length - keep);
                    _held.Remove(0, held.Length - keep);
                    return;
                }

                case State.AfterReasoning:
                {
                    int start = 0;
                    while (start < held.Length && char.IsWhiteSpace(held[start])) start++;
                    _held.Remove(0, start);
                    if (_held.Length == 0)
                        return;
                    _state = State.Answer;
                    continue;
                }

                default:
                    answer.Append(held);
                    _held.Clear();
                    return;
            }
        }
    }

    private static int IndexOfEnd(string text, out string? end)
    {
        end = null;
        int best = -1;
        foreach (var marker in ReasoningEnds)
        {
            int at = text.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0 && (best < 0 || at < best))
            {
                best = at;
                end = marker;
            }
        }

        return best;
    }
}
