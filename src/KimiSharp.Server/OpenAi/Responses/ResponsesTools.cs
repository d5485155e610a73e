using System.Text.Json;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Generation;
using KimiSharp.Server.Hosting;

namespace KimiSharp.Server.OpenAi.Responses;

/// <summary>
/// The functions a request declares, as the model sees them. A <c>namespace</c> tool (a group of functions,
/// as Codex sends its MCP and multi-agent tools) exposes each function under the flat name
/// <c>namespace__name</c> (Codex's own flattening: stray underscores at the seam trimmed); calls to it go back
/// to the client as <c>name</c> plus <c>namespace</c>, the only form Codex accepts.
/// </summary>
public sealed class ResponsesToolSet
{
    private readonly Dictionary<string, (string Namespace, string Name)> _namespaced;

    private ResponsesToolSet(IReadOnlyList<PromptTool>? tools, Dictionary<string, (string, string)> namespaced)
    {
        Tools = tools;
        _namespaced = namespaced;
    }

    public static ResponsesToolSet Empty { get; } = new(null, []);

    /// <summary>The declared functions (flat names), or null when there are none.</summary>
    public IReadOnlyList<PromptTool>? Tools { get; }

    /// <summary>The name and namespace the client knows a model-side (flat) function name by.</summary>
    public (string Name, string? Namespace) ClientName(string flatName) =>
        _namespaced.TryGetValue(flatName, out var qualified) ? (qualified.Name, qualified.Namespace) : (flatName, null);

    /// <summary>The model-side name of a function the client names (with its namespace, if any).</summary>
    public static string FlatName(string? @namespace, string name) =>
        string.IsNullOrEmpty(@namespace) ? name : $"{@namespace.TrimEnd('_')}__{name.TrimStart('_')}";

    /// <summary>
    /// Reads <c>tools</c>: <c>function</c> (flat shape: name, description, parameters, strict) and
    /// <c>namespace</c> tools are declared; every other type is a hosted tool (web_search, file_search,
    /// computer_use_preview, custom, mcp, …) that cannot run here and is left out, not an error.
    /// </summary>
    public static ResponsesToolSet Read(IReadOnlyList<JsonElement>? tools)
    {
        if (tools is null || tools.Count == 0)
            return Empty;
        var declared = new List<PromptTool>();
        var namespaced = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tools.Count; i++)
        {
            var path = $"tools[{i}]";
            var tool = tools[i];
            switch (TypeOf(tool, path))
            {
                case "function":
                    Add(Function(tool, path, null));
                    break;

                case "namespace":
                {
                    var space = RequiredString(tool, "name", path);
                    if (!tool.TryGetProperty("tools", out var inner) || inner.ValueKind != JsonValueKind.Array)
                        throw ApiException.Invalid($"{path}.tools", "is required: the namespace's functions");
                    int j = 0;
                    foreach (var member in inner.EnumerateArray())
                    {
                        var memberPath = $"{path}.tools[{j++}]";
                        if (TypeOf(member, memberPath) != "function")
                            continue; // hosted or custom tools inside a namespace: not runnable here either
                        var function = Function(member, memberPath, space);
                        namespaced[function.Name] = (space, RequiredString(member, "name", memberPath));
                        Add(function);
                    }

                    break;
                }

                default:
                    break; // a hosted tool
            }

            void Add(PromptTool function)
            {
                if (!names.Add(function.Name))
                    throw ApiException.Invalid($"{path}.name", $"'{function.Name}' is declared twice");
                declared.Add(function);
            }
        }

        return new ResponsesToolSet(declared.Count == 0 ? null : declared, namespaced);
    }

    /// <summary>
    /// Reads <c>tool_choice</c>: auto, none, required, <c>{type: function, name}</c> or
    /// <c>{type: allowed_tools, mode, tools}</c> (which also narrows the declared tools). A hosted tool
    /// choice (e.g. <c>{type: web_search_preview}</c>) names a tool that is not here and means auto.
    /// </summary>
    public (ToolChoice Choice, ResponsesToolSet Tools) ReadChoice(JsonElement? choice)
    {
        if (choice is not { } value || value.ValueKind == JsonValueKind.Null)
            return (ToolChoice.Auto, this);
        if (value.ValueKind == JsonValueKind.String)
        {
            var mode = Mode(JsonFields.String(value, "tool_choice"), "tool_choice");
            return (Checked(new ToolChoice(mode), "tool_choice"), this);
        }

        if (value.ValueKind != JsonValueKind.Object)
            throw ApiException.Invalid("tool_choice", $"must be a string or an object, not {JsonFields.Describe(value)}");
        switch (TypeOf(value, "tool_choice"))
        {
            case "function":
            {
                var name = RequiredString(value, "name", "tool_choice");
                string? space = value.TryGetProperty("namespace", out var ns) && ns.ValueKind != JsonValueKind.Null
                    ? JsonFields.String(ns, "tool_choice.namespace")
                    : null;
                var flat = FlatName(space, name);
                if (Tools?.Any(t => t.Name == flat) != true)
                    throw ApiException.Invalid("tool_choice.name", $"'{name}' is not among the declared function tools");
                return (new ToolChoice(ToolChoiceMode.Named, flat), this);
            }

            case "allowed_tools":
            {
                var mode = value.TryGetProperty("mode", out var m) ? Mode(JsonFields.String(m, "tool_choice.mode"), "tool_choice.mode") : ToolChoiceMode.Auto;
                if (mode == ToolChoiceMode.None)
                    throw ApiException.Invalid("tool_choice.mode", "must be auto or required");
                if (!value.TryGetProperty("tools", out var allowed) || allowed.ValueKind != JsonValueKind.Array)
                    throw ApiException.Invalid("tool_choice.tools", "is required: the tools the model may call");
                var keep = new HashSet<string>(StringComparer.Ordinal);
                int k = 0;
                foreach (var entry in allowed.EnumerateArray())
                {
                    var entryPath = $"tool_choice.tools[{k++}]";
                    if (TypeOf(entry, entryPath) != "function")
                        continue;
                    string? space = entry.TryGetProperty("namespace", out var ns) && ns.ValueKind != JsonValueKind.Null ? JsonFields.String(ns, $"{entryPath}.namespace") : null;
                    keep.Add(FlatName(space, RequiredString(entry, "name", entryPath)));
                }

                var narrowed = Tools?.Where(t => keep.Contains(t.Name)).ToList();
                var set = new ResponsesToolSet(narrowed is { Count: > 0 } ? narrowed : null, _namespaced);
                return (set.Checked(new ToolChoice(mode), "tool_choice"), set);
            }

            default:
                return (ToolChoice.Auto, this); // a hosted tool that is not here
        }
    }

    private ToolChoice Checked(ToolChoice choice, string param)
    {
        if (choice.Mode == ToolChoiceMode.Required && Tools is null)
            throw ApiException.Invalid(param, "'required' needs function tools to choose from");
        return choice;
    }

    private static ToolChoiceMode Mode(string mode, string param) => mode switch
    {
        "auto" => ToolChoiceMode.Auto,
        "none" => ToolChoiceMode.None,
        "required" => ToolChoiceMode.Required,
        _ => throw ApiException.Invalid(param, $"'{mode}' is not one of auto, none, required"),
    };

    private static PromptTool Function(JsonElement tool, string path, string? space)
    {
        var name = RequiredString(tool, "name", path);
        var flat = ToolNames.Validate(FlatName(space, name), $"{path}.name");
        string? description = tool.TryGetProperty("description", out var d) && d.ValueKind != JsonValueKind.Null
            ? JsonFields.String(d, $"{path}.description")
            : null;
        string? parameters = tool.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null
            ? JsonFields.RawObject(p, $"{path}.parameters")
            : null;
        if (tool.TryGetProperty("strict", out var strict) && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
            throw ApiException.Invalid($"{path}.strict", $"must be a boolean, not {JsonFields.Describe(strict)}");
        return new PromptTool(flat, description, parameters);
    }

    internal static string TypeOf(JsonElement item, string path)
    {
        if (item.ValueKind != JsonValueKind.Object)
            throw ApiException.Invalid(path, $"must be an object, not {JsonFields.Describe(item)}");
        return RequiredString(item, "type", path);
    }

    /// <summary>A string field that must be present (text parts may be empty).</summary>
    internal static string RequiredStringOrEmpty(JsonElement item, string field, string path)
    {
        if (!item.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            throw ApiException.Invalid($"{path}.{field}", "is required");
        return JsonFields.String(value, $"{path}.{field}");
    }

    internal static string RequiredString(JsonElement item, string field, string path)
    {
        if (!item.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            throw ApiException.Invalid($"{path}.{field}", "is required");
        var text = JsonFields.String(value, $"{path}.{field}");
        if (text.Length == 0)
            throw ApiException.Invalid($"{path}.{field}", "must not be empty");
        return text;
    }
}
