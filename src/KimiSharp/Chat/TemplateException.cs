namespace KimiSharp.Chat;

/// <summary>A Jinja template failed to parse or render. <see cref="Line"/> and <see cref="Column"/> are 1-based
/// positions in the template source (0 when unknown).</summary>
public sealed class TemplateException : Exception
{
    public TemplateException(string message, int line, int column, Exception? inner = null)
        : base(line > 0 ? $"{message} (line {line}, column {column})" : message, inner)
    {
        Line = line;
        Column = column;
        Reason = message;
    }

    /// <summary>1-based line of the construct that failed.</summary>
    public int Line { get; }

    /// <summary>1-based column of the construct that failed.</summary>
    public int Column { get; }

    /// <summary>The message without the position suffix.</summary>
    public string Reason { get; }
}
