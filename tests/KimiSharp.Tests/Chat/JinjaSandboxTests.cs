using KimiSharp.Chat;

namespace KimiSharp.Tests.Chat;

/// <summary>Limits and error reporting of the template sandbox (behaviour Python's Jinja2 does not define the same way).</summary>
public sealed class JinjaSandboxTests
{
    private static readonly Dictionary<string, object?> Empty = [];

    private static string Render(string source, JinjaOptions? options = null) => JinjaTemplate.Parse(source, options ?? JinjaOptions.HuggingFace).Render(Empty);

    [Fact]
    public void Loops_are_bounded_when_a_template_iterates_too_much()
    {
        var ex = Assert.Throws<TemplateException>(() => Render("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(10) %}{% endfor %}{% endfor %}{% endfor %}"));
        Assert.Contains("loop iteration limit", ex.Message);
        Assert.Equal(3, Render("{% for i in range(3) %}x{% endfor %}", JinjaOptions.HuggingFace with { MaxLoopIterations = 3 }).Length);
        Assert.Throws<TemplateException>(() => Render("{% for i in range(4) %}x{% endfor %}", JinjaOptions.HuggingFace with { MaxLoopIterations = 3 }));
    }

    [Fact]
    public void Macro_recursion_is_bounded()
    {
        var ex = Assert.Throws<TemplateException>(() => Render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"));
        Assert.Contains("call depth", ex.Message);
    }

    [Fact]
    public void Output_size_is_bounded()
    {
        var options = JinjaOptions.HuggingFace with { MaxOutputLength = 1000 };
        Assert.Throws<TemplateException>(() => Render("{% for i in range(2000) %}x{% endfor %}", options));
        Assert.Throws<TemplateException>(() => Render("{{ 'x' * 5000 }}", options));
        Assert.Throws<TemplateException>(() => Render("{% set ns = namespace(s='ab') %}{% for i in range(20) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", options));
    }

    [Fact]
    public void Deep_nesting_is_a_template_error_not_a_crash()
    {
        Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}"));
        Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{{ " + string.Concat(Enumerable.Repeat("not ", 5000)) + "1 }}"));
        Assert.Throws<TemplateException>(() => JinjaTemplate.Parse(string.Concat(Enumerable.Repeat("{% if true %}", 5000)) + string.Concat(Enumerable.Repeat("{% endif %}", 5000))));
        Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("{{ " + new string('[', 5000) + new string(']', 5000) + " }}"));
    }

    [Fact]
    public void Self_referencing_data_is_an_error_not_a_crash()
    {
        var options = JinjaOptions.Permissive;
        Assert.Throws<TemplateException>(() => Render("{% set l = [] %}{% set _ = l.append(l) %}{{ l }}", options));
        Assert.Equal("True", Render("{% set l = [] %}{% set _ = l.append(l) %}{{ l == l }}", options));
        Assert.Throws<TemplateException>(() => Render("{% set l = [] %}{% set _ = l.append(l) %}{{ l | tojson }}", options));
        Assert.Throws<TemplateException>(() => Render("{% set ns = namespace(l=[]) %}{% for i in range(3000) %}{% set ns.l = [ns.l] %}{% endfor %}{% set m = namespace(l=[]) %}{% for i in range(3000) %}{% set m.l = [m.l] %}{% endfor %}{{ ns.l == m.l }}", options));
    }

    [Fact]
    public void Errors_carry_line_and_column()
    {
        var parse = Assert.Throws<TemplateException>(() => JinjaTemplate.Parse("line one\n  {{ 1 + }}"));
        Assert.Equal(2, parse.Line);
        Assert.True(parse.Column > 1);
        var render = Assert.Throws<TemplateException>(() => Render("a\nb\n   {{ nothing.attr }}"));
        Assert.Equal(3, render.Line);
        Assert.Equal(7, render.Column);
        Assert.Contains("'nothing' is undefined", render.Message);
        var raised = Assert.Throws<TemplateException>(() => Render("\n{{ raise_exception('bad roles') }}"));
        Assert.Equal("bad roles", raised.Reason);
        Assert.Equal(2, raised.Line);
    }

    [Fact]
    public void Templates_reach_no_clr_members()
    {
        // attribute access only resolves Python-level methods and mapping keys; nothing of the CLR is reachable
        Assert.Equal("||||", Render("{{ ''.GetType }}|{{ [].GetType }}|{{ range.Method }}|{{ namespace.Target }}|{{ 'x'.__class__ }}"));
        Assert.Throws<TemplateException>(() => Render("{{ ''.GetType() }}"));
        Assert.Throws<TemplateException>(() => Render("{% include '/etc/passwd' %}"));
        Assert.Throws<TemplateException>(() => Render("{% import 'x' as y %}"));
        Assert.Throws<TemplateException>(() => Render("{% extends 'base' %}"));
    }

    [Fact]
    public void Mutation_needs_the_permissive_sandbox()
    {
        const string source = "{% set l = [] %}{% set _ = l.append(1) %}{{ l }}";
        var ex = Assert.Throws<TemplateException>(() => Render(source));
        Assert.Contains("unsafe", ex.Message);
        Assert.Equal("[1]", Render(source, JinjaOptions.Permissive));
    }

    [Fact]
    public void Context_values_are_copied_so_templates_cannot_mutate_caller_data()
    {
        var list = new List<object?> { 1L };
        var context = new Dictionary<string, object?> { ["l"] = list };
        Assert.Equal("[1, 2]", JinjaTemplate.Parse("{% set _ = l.append(2) %}{{ l }}", JinjaOptions.Permissive).Render(context));
        Assert.Single(list);
    }
}
