using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace KimiSharp.Tests.Chat;

public sealed class TemplateCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kimi-template-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Exit, byte[] Stdout, string Stderr) RunKimi(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "kimi.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        using var stdout = new MemoryStream();
        var copy = p.StandardOutput.BaseStream.CopyToAsync(stdout);
        string stderr = p.StandardError.ReadToEnd();
        copy.Wait();
        p.WaitForExit();
        return (p.ExitCode, stdout.ToArray(), stderr);
    }

    [Fact]
    public void Render_prints_exactly_the_python_golden_output()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(ChatTestPaths.GoldenFile("jinja_golden.json")));
        var golden = doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "kimi/tool_round");
        File.WriteAllText(Path.Combine(_dir, "t.jinja"), golden.GetProperty("template").GetString());
        File.WriteAllText(Path.Combine(_dir, "c.json"), golden.GetProperty("context").GetRawText());
        var (exit, stdout, stderr) = RunKimi("template", "render", "--template", Path.Combine(_dir, "t.jinja"), "--context", Path.Combine(_dir, "c.json"));
        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        Assert.Equal(Encoding.UTF8.GetBytes(golden.GetProperty("expected").GetString()!), stdout);
    }

    [Fact]
    public void Render_reports_a_template_error_on_one_line_with_exit_code_1()
    {
        File.WriteAllText(Path.Combine(_dir, "t.jinja"), "line one\n{% if x %}\n{{ 1 + }}\n{% endif %}");
        File.WriteAllText(Path.Combine(_dir, "c.json"), "{\"x\": true}");
        var (exit, stdout, stderr) = RunKimi("template", "render", "--template", Path.Combine(_dir, "t.jinja"), "--context", Path.Combine(_dir, "c.json"));
        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.StartsWith("error: ", stderr);
        Assert.Contains("line 3", stderr);
        Assert.DoesNotContain('\n', stderr.TrimEnd('\n'));
    }
}
