using System.Text.Json;
using KimiSharp.Chat.Jinja;

namespace KimiSharp.Chat;

/// <summary>
/// A parsed Jinja2 chat template. Rendering follows Python's Jinja2 with Hugging Face's settings
/// (trim_blocks, lstrip_blocks, loopcontrols, tojson with ensure_ascii=False, raise_exception, strftime_now)
/// inside a sandbox: templates see only the context and built-ins, loops and macro recursion are bounded.
/// Errors are <see cref="TemplateException"/>s carrying line and column.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly IReadOnlyList<Stmt> _body;
    private readonly JinjaOptions _options;

    private JinjaTemplate(IReadOnlyList<Stmt> body, JinjaOptions options)
    {
        _body = body;
        _options = options;
    }

    /// <summary>Parses with Hugging Face's settings (immutable sandbox).</summary>
    public static JinjaTemplate Parse(string source) => Parse(source, JinjaOptions.HuggingFace);

    public static JinjaTemplate Parse(string source, JinjaOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        return new JinjaTemplate(JinjaParser.Parse(source), options);
    }

    /// <summary>Renders with a context of null, bool, integers, floating point, string, lists and
    /// string-keyed dictionaries (or <see cref="JsonElement"/>s).</summary>
    public string Render(IReadOnlyDictionary<string, object?> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new JinjaInterpreter(_options).Render(_body, context);
    }

    /// <summary>Renders with the members of a JSON object as the context.</summary>
    public string Render(JsonElement contextObject)
    {
        if (contextObject.ValueKind != JsonValueKind.Object) throw new ArgumentException("the template context must be a JSON object", nameof(contextObject));
        var context = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in contextObject.EnumerateObject()) context[p.Name] = PyValues.FromJson(p.Value);
        return Render(context);
    }
}
