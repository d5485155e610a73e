using System.Text;

namespace KimiSharp.Chat;

/// <summary>Accumulates prompt text as segments, merging neighbours of the same kind and dropping empty ones.</summary>
internal sealed class PromptBuilder
{
    private readonly List<PromptSegment> _segments = [];
    private readonly StringBuilder _text = new();

    public void Template(string text) => Add(text, true);

    public void Content(string? text) => Add(text, false);

    public void Add(string? text, bool isTemplate)
    {
        if (string.IsNullOrEmpty(text)) return;
        _text.Append(text);
        if (_segments.Count > 0 && _segments[^1].IsTemplateText == isTemplate)
        {
            _segments[^1] = _segments[^1] with { Text = _segments[^1].Text + text };
            return;
        }
        _segments.Add(new PromptSegment(text, isTemplate));
    }

    public string Text => _text.ToString();

    public IReadOnlyList<PromptSegment> Segments => _segments;
}
