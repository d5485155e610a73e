using System.Text.Json;

namespace KimiSharp.Tests.Grammar;

/// <summary>
/// Real agents' tool sets (Grammar/Fixtures beside the assembly), shared by the tests and `kimi-bench enforcer`:
/// the captured first request of Claude Code 2.1.328 and Codex 0.169.0's Responses request, and
/// the tools arrays of earlier Claude Code and Codex versions.
/// </summary>
internal static class ToolSetFixtures
{
    /// <summary>Fixture file → how many function tools it declares.</summary>
    public static readonly (string File, int Tools)[] All =
    [
        ("claude-code-2.1.328-first-request.json", 12),
        ("claude-code-tools.json", 19),
        ("codex-tools.json", 8),
        ("codex-0.169.0-responses-request.json", 12),
    ];

    public static string Read(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Grammar", "Fixtures", name));

    /// <summary>
    /// (name, parameters schema) of every function tool in a fixture: a tools array or a captured request's
    /// "tools"; Anthropic input_schema or OpenAI/Responses parameters; Codex namespaces flattened to
    /// namespace__member as the server exposes them; hosted tools (no name or no schema) left out.
    /// </summary>
    public static IReadOnlyList<(string Name, string Schema)> Tools(string fixture)
    {
        using var doc = JsonDocument.Parse(Read(fixture));
        var root = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement : doc.RootElement.GetProperty("tools");
        var list = new List<(string, string)>();
        void Add(JsonElement tool, string prefix)
        {
            if (tool.TryGetProperty("tools", out var members))
            {
                foreach (var m in members.EnumerateArray()) Add(m, tool.GetProperty("name").GetString() + "__");
                return;
            }
            if (!tool.TryGetProperty("name", out var name)) return;
            var schema = tool.TryGetProperty("input_schema", out var s) ? s : tool.TryGetProperty("parameters", out var p) ? p : default;
            if (schema.ValueKind == JsonValueKind.Object) list.Add((prefix + name.GetString(), schema.GetRawText()));
        }
        foreach (var tool in root.EnumerateArray()) Add(tool, "");
        return list;
    }
}
