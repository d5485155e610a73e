using System.Collections.Concurrent;
using System.Text.Json;
using KimiSharp.Grammar.Json;
using KimiSharp.Sampling;

namespace KimiSharp.Grammar;

/// <summary>
/// Constrained decoding for one vocabulary: compiles JSON Schemas, GBNF and regexes (cached by their text, so a
/// client that sends the same tools every turn compiles them once) and creates per-request constraints for the
/// engine (<see cref="GenerationRequest"/>.Constraint). Thread-safe; one per served model.
/// </summary>
public sealed class Enforcer
{
    private const int MaxCached = 512;
    private readonly ConcurrentDictionary<string, CompiledGrammar> _cache = new(StringComparer.Ordinal);
    private readonly Action<string>? _log;

    public Enforcer(GrammarVocabulary vocabulary, Action<string>? log = null)
    {
        Vocabulary = vocabulary ?? throw new ArgumentNullException(nameof(vocabulary));
        ToolFormat = KimiToolFormat.For(vocabulary);
        _log = log;
    }

    public GrammarVocabulary Vocabulary { get; }

    /// <summary>Masks by parse state, shared by all requests.</summary>
    public MaskCache Masks { get; } = new();

    /// <summary>Kimi's tool-call markers, or null when the vocabulary has none (tool calls are then not enforced).</summary>
    public KimiToolFormat? ToolFormat { get; }

    /// <summary>
    /// Compact JSON valid against <paramref name="schemaJson"/>. Strict: an unsupported keyword throws
    /// <see cref="UnsupportedSchemaException"/>; otherwise it is logged and ignored.
    /// </summary>
    public CompiledGrammar JsonSchema(string schemaJson, bool strict) =>
        Cached($"schema:{(strict ? 1 : 0)}:{schemaJson}", () => JsonSchemaCompiler.Compile(schemaJson, new JsonSchemaOptions { Strict = strict, Loosened = _log }));

    /// <summary>Any JSON object (response_format json_object).</summary>
    public CompiledGrammar JsonObject() => JsonSchema("""{"type":"object"}""", strict: false);

    /// <summary>A GBNF grammar (llama.cpp syntax; special tokens by text or id).</summary>
    public CompiledGrammar Gbnf(string grammar) => Cached("gbnf:" + grammar, () => GbnfParser.Compile(grammar, Vocabulary));

    /// <summary>A regular expression the whole output must match.</summary>
    public CompiledGrammar Regex(string pattern) => Cached("regex:" + pattern, () => RegexParser.Compile(pattern));

    /// <summary>
    /// A tool's arguments: JSON valid against its parameters schema (null = no parameters: <c>{}</c>), then
    /// <c>&lt;|tool_call_end|&gt;</c>. Never fails because of the schema: an unsupported keyword loosens that
    /// sub-schema (logged), and a schema that cannot be compiled at all falls back to any JSON object.
    /// </summary>
    public CompiledGrammar ToolArguments(string name, string? parametersJson)
    {
        var format = ToolFormat ?? throw new InvalidOperationException("the vocabulary has no tool-call markers");
        string schema = string.IsNullOrWhiteSpace(parametersJson) ? """{"type":"object","properties":{}}""" : parametersJson;
        return Cached("tool:" + schema, () =>
        {
            try
            {
                return ToolGrammar(schema, format);
            }
            catch (Exception e) when (e is GrammarException or UnsupportedSchemaException or JsonException)
            {
                _log?.Invoke($"tool '{name}': its parameters schema cannot be enforced ({e.Message}); any JSON object is allowed");
                return ToolGrammar("""{"type":"object"}""", format);
            }
        });
    }

    private CompiledGrammar ToolGrammar(string schemaJson, KimiToolFormat format)
    {
        using var doc = JsonSchemaCompiler.ParseSchema(schemaJson);
        var def = new GrammarDefinition();
        var compiler = new JsonSchemaCompiler(def, new JsonSchemaOptions { Strict = false, Loosened = _log });
        def.Root = def.AddRule("tool-arguments", GrammarExpr.Seq(compiler.ValueExpr(doc.RootElement), GrammarExpr.SpecialToken(format.CallEnd)));
        return GrammarCompiler.Compile(def);
    }

    /// <summary>A constraint: the whole output is a sentence of <paramref name="grammar"/>, then end of generation.</summary>
    public ITokenConstraint Create(CompiledGrammar grammar) => new GrammarConstraint(grammar, Vocabulary, Masks);

    /// <summary>A constraint for a chat reply (content format, tool calls, reasoning).</summary>
    public ITokenConstraint Create(ChatConstraintOptions options) => new ChatConstraint(options, Vocabulary, Masks);

    private CompiledGrammar Cached(string key, Func<CompiledGrammar> compile)
    {
        if (_cache.TryGetValue(key, out var grammar)) return grammar;
        grammar = compile();
        if (_cache.Count >= MaxCached) _cache.Clear();
        _cache[key] = grammar;
        return grammar;
    }
}
