namespace KimiSharp.Grammar;

/// <summary>
/// A context-free grammar before compilation: named rules whose bodies are <see cref="GrammarExpr"/>s (rule
/// references by id), and the root rule. Built by the JSON Schema, GBNF and regex front ends.
/// </summary>
public sealed class GrammarDefinition
{
    private readonly List<string> _names = [];
    private readonly List<GrammarExpr?> _bodies = [];
    private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);

    public int RuleCount => _names.Count;

    public int Root { get; set; }

    public string RuleName(int id) => _names[id];

    public GrammarExpr? RuleBody(int id) => _bodies[id];

    /// <summary>Adds a rule (its body set later); a taken name gets a numeric suffix.</summary>
    public int AddRule(string name, GrammarExpr? body = null)
    {
        string unique = name;
        for (int i = 1; _byName.ContainsKey(unique); i++) unique = $"{name}-{i}";
        _byName[unique] = _names.Count;
        _names.Add(unique);
        _bodies.Add(body);
        return _names.Count - 1;
    }

    public bool TryGetRule(string name, out int id) => _byName.TryGetValue(name, out id);

    public void SetBody(int id, GrammarExpr body) => _bodies[id] = body;
}
