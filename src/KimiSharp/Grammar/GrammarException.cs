namespace KimiSharp.Grammar;

/// <summary>A grammar, schema or pattern that cannot be compiled; the message says where and why.</summary>
public sealed class GrammarException(string message) : Exception(message);
