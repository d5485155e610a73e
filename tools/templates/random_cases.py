"""Seeded random templates (whitespace control, nesting, expressions, filters) for the golden file: they probe
lexer/whitespace and expression corners that hand-written cases miss. Deterministic for a given seed."""
import random

TEXTS = ["", " ", "  ", "\n", "\n\n", "  \n", "\n  ", "\t", "x", "a b", " y\n", "\n z ", "中", "\n    \n"]
EXPRS = [
    "x", "y", "items", "d", "n", "s", "none", "true", "1", "2.5", "-3", "'str'", "\"q'uote\"",
    "x + 1", "y * 2", "s ~ x", "s|upper", "items|length", "items|join(',')", "d.a", "d['b']", "d.get('c', 'dc')",
    "items[0]", "items[-1]", "items[1:]", "s[::-1]", "x if y else n", "x > 1 and y", "not x", "x // 2", "y / 4",
    "items|map('string')|join", "d|tojson", "items|tojson(indent=1)", "d|dictsort", "(x, y)", "[x, s]",
    "{'k': x}", "s|title", "s.split(' ')", "' p '|trim", "x is even", "n is none", "s is string", "items|first",
    "items|last", "items|sum", "items|max", "range(x)|list", "loop_missing|default('dflt')", "s|replace('e', '3')",
    "d.keys()|list", "x ** 2", "x % 3", "items|reverse|list", "s|length", "'%d items' ~ ''", "d.a is defined",
    "missing is defined", "x in items", "'e' in s", "s.startswith('h')", "y|round(1)", "y|int", "x|float",
]
CONDS = ["x", "y", "n", "x > 1", "s", "items", "not n", "x == 2", "missing", "d.a", "x is odd", "items|length > 2"]
MODS = ["", "", "", "-", "+"]
END_MODS = ["", "", "", "-"]


def tag(rng, body, block=True):
    left = rng.choice(MODS) if block else rng.choice(["", "", "-"])
    right = rng.choice(END_MODS + (["+"] if block else []))
    open_, close = ("{%", "%}") if block else ("{{", "}}")
    return f"{open_}{left} {body} {right}{close}"


def gen(rng, depth):
    parts = []
    for _ in range(rng.randint(1, 4)):
        parts.append(rng.choice(TEXTS))
        kind = rng.random()
        if kind < 0.45 or depth >= 3:
            parts.append(tag(rng, rng.choice(EXPRS), block=False))
        elif kind < 0.65:
            parts.append(tag(rng, "if " + rng.choice(CONDS)))
            parts.append(gen(rng, depth + 1))
            if rng.random() < 0.4:
                parts.append(rng.choice(TEXTS) + tag(rng, "elif " + rng.choice(CONDS)))
                parts.append(gen(rng, depth + 1))
            if rng.random() < 0.5:
                parts.append(rng.choice(TEXTS) + tag(rng, "else"))
                parts.append(gen(rng, depth + 1))
            parts.append(rng.choice(TEXTS) + tag(rng, "endif"))
        elif kind < 0.85:
            var = rng.choice(["i", "item", "c"])
            seq = rng.choice(["items", "s", "d", "range(3)", "items|reverse", "d.items()"])
            parts.append(tag(rng, f"for {var} in {seq}"))
            parts.append(rng.choice(TEXTS) + tag(rng, rng.choice([var, "loop.index", "loop.first", f"{var}|string|length", "loop.revindex0"]), block=False))
            parts.append(gen(rng, depth + 1))
            parts.append(rng.choice(TEXTS) + tag(rng, "endfor"))
        elif kind < 0.93:
            parts.append(tag(rng, f"set {rng.choice(['x', 'tmp', 's'])} = {rng.choice(EXPRS)}"))
        else:
            parts.append("{#" + rng.choice(MODS) + " note " + rng.choice(END_MODS) + "#}")
    parts.append(rng.choice(TEXTS))
    return "".join(parts)


def random_cases(count=250, seed=20251129):
    rng = random.Random(seed)
    context = {"x": 3, "y": 2.5, "n": None, "s": "hello world", "items": [1, 2, 3], "d": {"a": 1, "b": [1, 2], "z": "zz"}}
    return [{"name": f"random/{i:03d}", "template": gen(rng, 0), "context": context} for i in range(count)]
