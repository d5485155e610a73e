using System.Text.Json;
using KimiSharp.Chat;

namespace KimiSharp.Tests.Chat;

/// <summary>Every case rendered by tools/templates/render_golden.py with Python's Jinja2 (Hugging Face's settings)
/// must render byte-identically here, and every case where Jinja2 raised must raise a TemplateException.</summary>
public sealed class JinjaGoldenTests
{
    private static readonly Lazy<Dictionary<string, JsonElement>> Cases = new(() =>
    {
        var doc = JsonDocument.Parse(File.ReadAllText(ChatTestPaths.GoldenFile("jinja_golden.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c);
    });

    public static readonly DateTime FixedNow = new(2025, 3, 7, 9, 5, 2);

    public static TheoryData<string> OwnCases() => Names(shared: false);

    public static TheoryData<string> SharedCases() => Names(shared: true);

    private static TheoryData<string> Names(bool shared)
    {
        var data = new TheoryData<string>();
        foreach (var (name, c) in Cases.Value)
        {
            if (c.TryGetProperty("template_file", out _) == shared) data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(OwnCases))]
    public void Own_template_renders_like_python_jinja2(string name) => Check(name);

    [SharedReferenceTheory]
    [MemberData(nameof(SharedCases))]
    public void Real_template_renders_like_python_jinja2(string name) => Check(name);

    [Fact]
    public void Golden_file_covers_every_feature_group_and_errors()
    {
        var names = Cases.Value.Keys.ToList();
        foreach (var prefix in new[] { "ws/", "raw/", "expr/", "access/", "if/", "for/", "scope/", "macro/", "filter/", "test/", "method/", "sandbox/", "global/", "error/", "mutable/", "kimi/", "real/" })
            Assert.Contains(names, n => n.StartsWith(prefix, StringComparison.Ordinal));
        Assert.True(Cases.Value.Values.Count(c => c.TryGetProperty("error", out _)) >= 30);
    }

    private static void Check(string name)
    {
        var c = Cases.Value[name];
        string source = c.TryGetProperty("template", out var t)
            ? t.GetString()!
            : File.ReadAllText(Path.Combine(ChatTestPaths.SharedReference!, c.GetProperty("template_file").GetString()!));
        var options = (c.GetProperty("mode").GetString() == "mutable" ? JinjaOptions.Permissive : JinjaOptions.HuggingFace) with { Now = () => FixedNow };
        var context = c.GetProperty("context");
        if (c.TryGetProperty("error", out var error))
        {
            var ex = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse(source, options).Render(context));
            Assert.False(string.IsNullOrEmpty(ex.Message), $"Python raised {error.GetString()}");
            return;
        }
        string expected = c.GetProperty("expected").GetString()!;
        string actual = JinjaTemplate.Parse(source, options).Render(context);
        Assert.Equal(expected, actual);
    }
}
