#!/usr/bin/env python3
"""Renders the Jinja golden cases with Python's Jinja2 configured as Hugging Face's apply_chat_template does.

Usage: python3 tools/templates/render_golden.py [SHARED_REFERENCE_DIR]
Writes tests/KimiSharp.Tests/Chat/Golden/jinja_golden.json. Each case records the template (our own templates
inline; the real templates from ../shared/reference/templates only by file name), the context, the sandbox mode
and either the exact expected output or the Python exception type.

Environment (transformers.utils.chat_template_utils._compile_jinja_template):
  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, loopcontrols])
  filters["tojson"] = json.dumps(x, ensure_ascii=False, indent, separators, sort_keys)
  globals: raise_exception (TemplateError), strftime_now (fixed clock here so goldens are stable)
Mode "mutable" uses SandboxedEnvironment (list.append etc. allowed, as llama.cpp's engine does).
"""
import datetime
import json
import os
import sys

import jinja2
from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as case_defs  # noqa: E402

FIXED_NOW = datetime.datetime(2025, 3, 7, 9, 5, 2)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise TemplateError(message)


def strftime_now(format):
    return FIXED_NOW.strftime(format)


class AssistantTracker(Extension):
    """Hugging Face's {% generation %} tag (transformers AssistantTracker): renders its body unchanged."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render_assistant"), [], [], body).set_lineno(lineno)

    def _render_assistant(self, caller):
        return caller()


def make_env(mode):
    cls = ImmutableSandboxedEnvironment if mode == "hf" else SandboxedEnvironment
    env = cls(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, "jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if len(sys.argv) > 1:
        shared = sys.argv[1]
    else:  # ../shared/reference next to the checkout (or next to the folder holding a worktree)
        candidates = [os.path.join(os.path.dirname(root), "shared", "reference"),
                      os.path.join(os.path.dirname(os.path.dirname(root)), "shared", "reference")]
        shared = next((c for c in candidates if os.path.isdir(c)), candidates[0])
    out = []
    for case in case_defs.all_cases():
        mode = case.get("mode", "hf")
        entry = {"name": case["name"], "mode": mode, "context": case["context"]}
        if "template_file" in case:
            entry["template_file"] = case["template_file"]
            with open(os.path.join(shared, case["template_file"]), encoding="utf-8") as f:
                source = f.read()
        else:
            entry["template"] = source = case["template"]
        try:
            context = json.loads(json.dumps(case["context"]))
            entry["expected"] = make_env(mode).from_string(source).render(**context)
        except Exception as e:  # noqa: BLE001 - any exception is an expected error case
            entry["error"] = type(e).__name__
        out.append(entry)
    names = [c["name"] for c in out]
    assert len(names) == len(set(names)), "duplicate case names"
    path = os.path.join(root, "tests", "KimiSharp.Tests", "Chat", "Golden", "jinja_golden.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump({"jinja2_version": jinja2.__version__, "fixed_now": FIXED_NOW.isoformat(), "cases": out},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(out)} cases ({sum('error' in c for c in out)} raise) -> {path}")


if __name__ == "__main__":
    main()
