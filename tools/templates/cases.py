"""Golden cases for the Jinja engine: real chat templates, KimiSharp's own Kimi template, and small templates
of our own exercising each feature. Rendered by render_golden.py."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kimi_template_source():
    with open(os.path.join(ROOT, "src", "KimiSharp", "Chat", "KimiChatTemplate.cs"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r'Source = """\n(.*?)\n""";', text, re.S)
    return m.group(1)


TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Get the \"current\" weather — 天气",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                                                      "days": {"type": "integer", "minimum": 1}},
                                                     "required": ["city"]}}},
    {"type": "function", "function": {"name": "my.ns-tool", "description": "", "parameters": {"type": "object", "properties": {}}}},
]

CONVERSATIONS = {
    "single_user": {"messages": [{"role": "user", "content": "Hello!"}], "add_generation_prompt": True},
    "system_multi_turn": {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello. How can I help?"},
        {"role": "user", "content": "Tell me a joke\nabout <|im_end|> tokens."}], "add_generation_prompt": True},
    "no_generation_prompt": {"messages": [
        {"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}], "add_generation_prompt": False},
    "tool_round": {"tools": TOOLS, "messages": [
        {"role": "user", "content": "Weather in 北京 and Paris?"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [
            {"id": "functions.get_weather:0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Beijing\"}"}},
            {"id": "functions.get_weather:1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
        {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "{\"weather\": \"Sunny\"}"},
        {"role": "tool", "tool_call_id": "functions.get_weather:1", "name": "get_weather", "content": "Rain 🌧️"},
        {"role": "assistant", "content": "Beijing is sunny; Paris has rain."},
        {"role": "user", "content": "Thanks"}], "add_generation_prompt": True},
    "tool_call_empty_content": {"tools": TOOLS[:1], "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "functions.my.ns-tool:0", "type": "function", "function": {"name": "my.ns-tool", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "functions.my.ns-tool:0", "content": ""}], "add_generation_prompt": True},
    "content_parts": {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "Look: "}, {"type": "image_url", "image_url": {"url": "x"}},
                                     {"type": "text", "text": "what is it?"}]},
        {"role": "assistant", "content": None},
        {"role": "user", "name": "alice", "content": ""}], "add_generation_prompt": True},
    "reasoning_history": {"messages": [
        {"role": "user", "content": "1+1?"},
        {"role": "assistant", "content": "2", "reasoning_content": "simple"},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "", "reasoning_content": "think", "tool_calls": [
            {"id": "x", "type": "function", "function": {"name": "calc", "arguments": "{\"e\":\"2+2\"}"}}]},
        {"role": "tool", "tool_call_id": "x", "content": "4"}], "add_generation_prompt": True},
    "empty_messages": {"messages": [], "add_generation_prompt": True},
    # Claude Code's shape: a top-level system, then system turns inside the conversation (environment, reminders).
    "system_mid_conversation": {"tools": TOOLS[:1], "messages": [
        {"role": "system", "content": "x-anthropic-billing-header: cc_version=2.1.328; cch=fffff;\nYou are an agent."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "system", "content": "# Environment\n - Platform: linux"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "functions.get_weather:0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "Sunny"},
        {"role": "system", "content": "<system-reminder>keep going</system-reminder>"}], "add_generation_prompt": True},
    # A thinking model's tool loop: every turn after the last plain answer keeps its reasoning.
    "thinking_tool_loop": {"tools": TOOLS[:1], "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "reasoning_content": "greet back"},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": "", "reasoning_content": "Paris first.", "tool_calls": [
            {"id": "functions.get_weather:0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "Sunny"},
        {"role": "assistant", "content": "Now Rome.", "reasoning_content": "Then Rome.\n", "tool_calls": [
            {"id": "functions.get_weather:1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
        {"role": "tool", "tool_call_id": "functions.get_weather:1", "content": "Rain"}], "add_generation_prompt": True},
}

DEEPSEEK = {
    "ds_basic": {"bos_token": "<｜begin▁of▁sentence｜>", "messages": [
        {"role": "system", "content": "S1"}, {"role": "system", "content": "S2"},
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "<think>x</think>Hello"},
        {"role": "user", "content": "Again"}], "add_generation_prompt": True},
    "ds_thinking": {"bos_token": "<BOS>", "thinking": True, "messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True},
    "ds_tools": {"bos_token": "", "messages": [
        {"role": "user", "content": "call"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}},
            {"type": "function", "function": {"name": "g", "arguments": "{}"}}]},
        {"role": "tool", "content": "r1"}, {"role": "tool", "content": "r2"},
        {"role": "assistant", "content": "done"}], "add_generation_prompt": False},
}


def real_template_cases():
    cases = []
    for file in ["Kimi-K2-Instruct.jinja", "Kimi-K2-Thinking.jinja", "moonshotai-Kimi-K2.jinja"]:
        for ctx_name, ctx in CONVERSATIONS.items():
            for mode in ["hf", "mutable"]:
                cases.append({"name": f"real/{file}/{ctx_name}/{mode}", "template_file": "templates/" + file, "context": ctx, "mode": mode})
    for ctx_name, ctx in DEEPSEEK.items():
        cases.append({"name": f"real/deepseek-ai-DeepSeek-V3.1.jinja/{ctx_name}", "template_file": "templates/deepseek-ai-DeepSeek-V3.1.jinja", "context": ctx})
    return cases


def kimi_cases():
    src = kimi_template_source()
    return [{"name": f"kimi/{n}", "template": src, "context": c} for n, c in CONVERSATIONS.items()]


# (name, template, context) — our own templates, one feature each.
FEATURES = [
    ("text/plain", "Hello world", {}),
    ("text/trailing_newline_dropped", "a\n", {}),
    ("text/two_trailing_newlines", "a\n\n", {}),
    ("text/crlf_normalised", "a\r\nb\rc", {}),
    ("ws/trim_blocks", "{% if true %}\nyes\n{% endif %}\nend", {}),
    ("ws/lstrip_blocks", "  {% if true %}\n  x\n  {% endif %}\n", {}),
    ("ws/lstrip_not_for_variables", "  {{ 'v' }}\n", {}),
    ("ws/minus_both", "a  \n  {%- if true -%}  \n  b  {%- endif -%}  \n c", {}),
    ("ws/plus_disables_lstrip", "  {%+ if true %}x{% endif %}", {}),
    ("ws/plus_disables_trim", "{% if true +%}\nx{% endif %}", {}),
    ("ws/variable_minus", "a \n {{- 'b' -}} \n c", {}),
    ("ws/comment_trim", "a\n{# comment #}\nb\n  {#- c -#}  \nd", {}),
    ("ws/lstrip_mid_line", "x {% if true %}y{% endif %}", {}),
    ("ws/tab_lstrip", "\t\t{% if true %}t{% endif %}", {}),
    ("raw/basic", "{% raw %}{{ not evaluated }}{% endraw %}", {}),
    ("raw/strip", "{% raw -%}   {{ x }}  {%- endraw %}\nafter", {}),
    ("expr/arith", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7 / 2 }} {{ 4 / 2 }}", {}),
    ("expr/float_repr", "{{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1.5e-7 }} {{ 1e16 }} {{ 1e15 }} {{ 123456789.125 }} {{ 0.0001 }} {{ 0.00001 }} {{ -0.0 }} {{ 3.0 }}", {}),
    ("expr/float_ctx", "{{ x }} {{ y }} {{ x * 2 }} {{ y + 1 }}", {"x": 2.5, "y": 3}),
    ("expr/unary", "{{ -x }} {{ +x }} {{ - 2 ** 2 }} {{ not x }}", {"x": 3}),
    ("expr/concat", "{{ 'a' ~ 1 ~ none ~ true ~ 1.5 ~ undefined_var }}", {}),
    ("expr/string_concat_plus", "{{ 'a' + 'b' }}", {}),
    ("expr/string_plus_int_raises", "{{ 'a' + 1 }}", {}),
    ("expr/string_repeat", "{{ 'ab' * 3 }}|{{ 2 * 'x' }}|{{ [1] * 2 }}", {}),
    ("expr/compare_chain", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }}", {}),
    ("expr/compare_type_error", "{{ 'a' < 1 }}", {}),
    ("expr/in", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} {{ 3 not in [1] }}", {}),
    ("expr/in_type_error", "{{ 1 in 'abc' }}", {}),
    ("expr/and_or_values", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ none or [] }} {{ '' and 1 }}", {}),
    ("expr/inline_if", "{{ 'y' if x else 'n' }} {{ 'y' if not x else 'n' }} [{{ 'only' if false }}] {{ (1 if false) is defined }}", {"x": True}),
    ("expr/nested_inline_if", "{{ 'a' if x == 1 else 'b' if x == 2 else 'c' }}", {"x": 2}),
    ("expr/literals", "{{ [1, 'two', 3.0, none, true, [], {}] }} {{ {'a': 1, 'b': [2]} }} {{ (1, 2) }} {{ (1,) }} {{ () }}", {}),
    ("expr/string_repr_quotes", "{{ [\"it's\", 'say \"hi\"', 'both \\' \"', 'nl\\n\\ttab\\\\'] }}", {}),
    ("expr/string_repr_unicode", "{{ ['中文', 'é', '\\x01', '\\u200b', '\\xa0', '😀'] }}", {}),
    ("expr/string_escapes", "{{ 'a\\nb\\tc\\\\d\\'e\\u00e9\\x41' }}", {}),
    ("expr/adjacent_strings", "{{ 'a' 'b' \"c\" }}", {}),
    ("expr/print_values", "{{ none }} {{ true }} {{ false }} {{ 42 }} {{ -3 }} {{ d }} {{ l }}", {"d": {"x": None, "y": [1, "s"]}, "l": []}),
    ("expr/tuple_output", "{{ 1, 2 }}", {}),
    ("expr/int_underscore", "{{ 1_000 + 1 }}", {}),
    ("expr/division_by_zero", "{{ 1 / 0 }}", {}),
    ("expr/dict_in_output", "{{ {'a': {'b': 1}} }}", {}),
    ("access/attr_and_item", "{{ m.role }} {{ m['role'] }} {{ m.get('role') }} {{ m.missing }}|{{ m['missing'] }}|{{ m.get('missing') }} {{ m.get('missing', 'dflt') }}", {"m": {"role": "user"}}),
    ("access/undefined_attr_raises", "{{ m.a.b }}", {"m": {}}),
    ("access/undefined_name_attr_raises", "{{ nothing.attr }}", {}),
    ("access/undefined_print_empty", "[{{ nothing }}]", {}),
    ("access/none_attr_is_undefined", "[{{ n.foo }}]", {"n": None}),
    ("access/index_negative", "{{ l[0] }} {{ l[-1] }} [{{ l[10] }}] {{ s[1] }} {{ s[-1] }}", {"l": [1, 2, 3], "s": "héllo"}),
    ("access/slices", "{{ l[1:] }} {{ l[:2] }} {{ l[::-1] }} {{ l[::2] }} {{ l[-2:] }} {{ s[1:4] }} {{ s[::-1] }} {{ l[5:] }} {{ l[3:1] }} {{ l[3:1:-1] }}", {"l": [0, 1, 2, 3, 4], "s": "abcdef"}),
    ("access/dict_key_attr_precedence", "{{ d['items'] }}|{{ d.keys() | list }}", {"d": {"items": "X", "b": 2}}),
    ("access/dot_number", "{{ l.0 }} {{ l.1 }}", {"l": ["a", "b"]}),
    ("access/astral_string_index", "{{ s[1] }} {{ s|length }} {{ s[::-1] }}", {"s": "a😀b"}),
    ("if/elif_else", "{% for x in [1, 2, 3] %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}other{% endif %},{% endfor %}", {}),
    ("if/truthiness", "{% for v in [0, 1, '', 'a', [], [0], {}, {'a': 1}, none, 0.0] %}{{ 'T' if v else 'F' }}{% endfor %}", {}),
    ("for/loop_vars", "{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}", {}),
    ("for/prev_next", "{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }} {% endfor %}", {}),
    ("for/cycle", "{% for x in range(5) %}{{ loop.cycle('odd', 'even') }} {% endfor %}", {}),
    ("for/changed", "{% for x in [1, 1, 2, 2, 1] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}", {}),
    ("for/else", "{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in [1] %}x{% else %}empty{% endfor %}", {}),
    ("for/filter", "{% for x in range(10) if x % 3 == 0 %}{{ x }}{{ loop.index }}{{ loop.last }} {% endfor %}", {}),
    ("for/dict_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}", {"d": {"z": 1, "a": 2, "m": 3}}),
    ("for/unpack_tuples", "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }} {% endfor %}", {}),
    ("for/unpack_error", "{% for a, b in [[1, 2, 3]] %}{{ a }}{% endfor %}", {}),
    ("for/string_iteration", "{% for c in 'héy' %}[{{ c }}]{% endfor %}", {}),
    ("for/break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("for/nested_loop_var", "{% for a in [1, 2] %}{% for b in [3, 4] %}{{ loop.index }}{% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("for/iterate_none_raises", "{% for x in n %}{% endfor %}", {"n": None}),
    ("for/iterate_undefined_empty", "{% for x in nothing %}x{% else %}none{% endfor %}", {}),
    ("for/range_variants", "{{ range(3)|list }} {{ range(1, 4)|list }} {{ range(10, 0, -3)|list }} {{ range(0)|list }} {{ range(3) }}", {}),
    ("for/range_too_big", "{{ range(200000)|length }}", {}),
    ("for/range_step_zero", "{{ range(1, 2, 0) }}", {}),
    ("scope/set_in_loop_does_not_leak", "{% set x = 0 %}{% for i in range(3) %}{% set x = x + 1 %}{{ x }}{% endfor %}|{{ x }}", {}),
    ("scope/set_in_if_leaks", "{% if true %}{% set q = 1 %}{% endif %}{{ q }}", {}),
    ("scope/loop_var_restored", "{% set i = 9 %}{% for i in [1] %}{{ i }}{% endfor %}{{ i }}", {}),
    ("scope/namespace", "{% set ns = namespace(count=0, found=false) %}{% for x in [1, 2, 3] %}{% set ns.count = ns.count + x %}{% if x == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }}", {}),
    ("scope/namespace_from_dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}", {}),
    ("scope/set_attr_non_namespace_raises", "{% set d = {} %}{% set d.x = 1 %}", {}),
    ("scope/tuple_set", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c, d = [3, 4] %}{{ c }}{{ d }}", {}),
    ("scope/block_set", "{% set x %}Hello {{ name }}!{% endset %}[{{ x }}]{% set y | upper %}shout{% endset %}{{ y }}", {"name": "Kimi"}),
    ("scope/with", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", {}),
    ("scope/context_override_set", "{% set messages = messages[1:] %}{{ messages|length }}", {"messages": [1, 2, 3]}),
    ("macro/basic", "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('A') }} {{ greet('B', 'Hi') }} {{ greet(greeting='Yo', name='C') }}", {}),
    ("macro/missing_arg_undefined", "{% macro m(a, b) %}[{{ a }}][{{ b }}]{{ b is defined }}{% endmacro %}{{ m(1) }}", {}),
    ("macro/varargs_kwargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k='v') }}", {}),
    ("macro/sees_outer_late", "{% macro m() %}{{ z }}{% endmacro %}{% set z = 3 %}{{ m() }}{% set z = 4 %}{{ m() }}", {}),
    ("macro/local_set", "{% set x = 1 %}{% macro m() %}{% set x = 2 %}{{ x }}{% endmacro %}{{ m() }}{{ x }}", {}),
    ("macro/recursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(6) }}", {}),
    ("macro/call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inner {{ 1 + 1 }}{% endcall %}", {}),
    ("macro/call_block_args", "{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each([1, 2]) %}<{{ x }}>{% endcall %}", {}),
    ("macro/print_macro", "{% macro m() %}{% endmacro %}{{ m }}", {}),
    ("macro/whitespace", "{% macro m(x) -%}\n  [{{ x }}]\n{%- endmacro %}\n{{ m(1) }}\n{{ m(2) }}", {}),
    ("filter/tojson_default", "{{ d|tojson }}", {"d": {"b": [1, 2.5, None, True, "é\"\n"], "a": {}}}),
    ("filter/tojson_indent", "{{ d|tojson(indent=2) }}|{{ d|tojson(indent=0) }}|{{ []|tojson(indent=2) }}", {"d": {"b": [1, {"c": []}], "a": "x"}}),
    ("filter/tojson_separators", "{{ d|tojson(separators=(',', ':')) }}|{{ d|tojson(indent=1, separators=(', ', ' = ')) }}", {"d": {"k": [1, 2], "j": {"x": 1}}}),
    ("filter/tojson_sort_keys", "{{ d|tojson(sort_keys=true) }}", {"d": {"b": 1, "a": {"z": 1, "y": 2}, "C": 3}}),
    ("filter/tojson_ensure_ascii", "{{ s|tojson(ensure_ascii=true) }} {{ s|tojson }}", {"s": "é中😀\u007f\u0001"}),
    ("filter/tojson_string_indent", "{{ d|tojson(indent='\\t') }}", {"d": {"a": [1]}}),
    ("filter/tojson_undefined_raises", "{{ nothing|tojson }}", {}),
    ("filter/tojson_floats", "{{ [1.0, 0.5, 1e100, 123.456, -0.0]|tojson }}", {}),
    ("filter/tojson_unicode_keys", "{{ {'ключ': 'значение'}|tojson }}", {}),
    ("filter/length", "{{ 'héllo'|length }} {{ [1, 2]|length }} {{ {'a': 1}|length }} {{ nothing|length }} {{ l|count }}", {"l": [1]}),
    ("filter/length_int_raises", "{{ 5|length }}", {}),
    ("filter/default", "{{ nothing|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} {{ none|default('d') }} {{ nothing|d }}|", {}),
    ("filter/trim", "[{{ '  x  '|trim }}] [{{ 'xxaxx'|trim('x') }}] [{{ '\\n\\t y \\u3000'|trim }}]", {}),
    ("filter/join", "{{ [1, 'a', none]|join(', ') }} {{ ['x', 'y']|join }} {{ users|join(', ', attribute='name') }}", {"users": [{"name": "a"}, {"name": "b"}]}),
    ("filter/first_last", "{{ [1, 2, 3]|first }} {{ [1, 2, 3]|last }} {{ 'abc'|first }} {{ 'abc'|last }} [{{ []|first }}] {{ {'k': 1, 'j': 2}|first }}", {}),
    ("filter/list", "{{ 'abc'|list }} {{ {'a': 1, 'b': 2}|list }} {{ (1, 2)|list }}", {}),
    ("filter/map_attribute", "{{ users|map(attribute='name')|list }} {{ users|map(attribute='age', default=0)|list }}", {"users": [{"name": "a", "age": 3}, {"name": "b"}]}),
    ("filter/map_filter", "{{ ['a', 'b']|map('upper')|join(',') }} {{ [1.5, 2.5]|map('int')|list }} {{ ['x']|map('replace', 'x', 'y')|list }}", {}),
    ("filter/select_reject", "{{ [1, 2, 3, 4]|select('even')|list }} {{ [1, 2, 3, 4]|reject('odd')|list }} {{ [0, 1, '', 'a']|select|list }} {{ [1, 5, 10]|select('gt', 3)|list }}", {}),
    ("filter/selectattr", "{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ msgs|rejectattr('role', 'eq', 'user')|list|length }} {{ msgs|selectattr('flag')|list|length }}", {"msgs": [{"role": "user", "content": "u1"}, {"role": "assistant", "content": "a", "flag": True}, {"role": "user", "content": "u2"}]}),
    ("filter/selectattr_generator_length_raises", "{{ [1]|select|length }}", {}),
    ("filter/generator_truthy", "{{ 'T' if []|select else 'F' }}", {}),
    ("filter/string_int_float", "{{ 5|string }}{{ none|string }} {{ '42'|int + 1 }} {{ '3.9'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.7|int }} {{ '0x1A'|int(base=16) }} {{ ' 12 '|int }} {{ '1_000'|int }} {{ '2.5'|float }} {{ 'x'|float }} {{ 3|float }} {{ true|int }}", {}),
    ("filter/replace", "{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'ab'|replace('', '-') }}", {}),
    ("filter/case", "{{ 'hELLo wORLD'|lower }} {{ 'hello'|upper }} {{ 'hello big-world (x)'|title }} {{ 'hELLO wORLD'|capitalize }}", {}),
    ("filter/round", "{{ 3|round }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 3.14159|round(3) }} {{ 1234.5|round(-2) }} {{ 2.1|round(method='ceil') }} {{ 2.9|round(method='floor') }} {{ -2.5|round }}", {}),
    ("filter/items_dictsort", "{{ d|items|list }} {{ d|dictsort }} {{ d|dictsort(reverse=true) }} {{ d|dictsort(by='value') }} {{ {'b': 1, 'A': 2}|dictsort }} {{ {'b': 1, 'A': 2}|dictsort(true) }}", {"d": {"b": 2, "a": 3, "c": 1}}),
    ("filter/items_non_mapping_raises", "{{ [1]|items|list }}", {}),
    ("filter/unique", "{{ [1, 2, 1, 3, 2]|unique|list }} {{ ['a', 'A', 'b']|unique|list }} {{ ['a', 'A', 'b']|unique(true)|list }}", {}),
    ("filter/sort", "{{ [3, 1, 2]|sort }} {{ [3, 1, 2]|sort(reverse=true) }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }} {{ users|sort(attribute='age')|map(attribute='name')|join }}", {"users": [{"name": "x", "age": 3}, {"name": "y", "age": 1}, {"name": "z", "age": 2}]}),
    ("filter/reverse", "{{ 'abc'|reverse }} {{ [1, 2, 3]|reverse|list }}", {}),
    ("filter/min_max_sum_abs", "{{ [3, 1, 2]|min }} {{ [3, 1, 2]|max }} {{ [1, 2, 3]|sum }} {{ users|sum(attribute='n') }} {{ -3|abs }} {{ -2.5|abs }} {{ ['b', 'A']|max }}", {"users": [{"n": 1}, {"n": 5}]}),
    ("filter/indent", "{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|{{ 'x\\ny'|indent('> ') }}", {}),
    ("filter/center_escape_wordcount", "[{{ 'ab'|center(7) }}] {{ '<a href=\"x\">&\\'</a>'|escape }} {{ 'one two  three'|wordcount }}", {}),
    ("filter/batch", "{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 'x')|list }}", {}),
    ("filter/chained", "{{ ' A,B ,c '|trim|lower|replace(' ', '')|upper }}", {}),
    ("filter/precedence_unary", "{{ -1|abs }} {{ 1 + 2|string }}", {}),
    ("filter/unknown_raises", "{{ 'x'|no_such_filter }}", {}),
    ("filter/filter_block", "{% filter upper %}hello {{ name }}{% endfilter %}", {"name": "kimi"}),
    ("filter/attr", "{{ d|attr('a') }}", {"d": {"a": 5}}),
    ("test/types", "{% for v in [1, 1.5, 'x', [], {}, none, true] %}{{ v is number }}{{ v is integer }}{{ v is float }}{{ v is string }}{{ v is mapping }}{{ v is iterable }}{{ v is sequence }}{{ v is none }}{{ v is boolean }};{% endfor %}", {}),
    ("test/defined", "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ d.k is defined }} {{ d.z is defined }} {{ d['z'] is not defined }}", {"x": None, "d": {"k": 1}}),
    ("test/comparisons", "{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 2 is eq 2 }} {{ 2 is ne 3 }} {{ 2 is lt 3 }} {{ 2 is gt 3 }} {{ 2 is ge 2 }} {{ 2 is le 1 }} {{ 1 is in [1, 2] }} {{ 'x' is equalto 'x' }}", {}),
    ("test/true_false_sameas", "{{ true is true }} {{ 1 is true }} {{ false is false }} {{ none is sameas none }} {{ x is sameas x }}", {"x": [1]}),
    ("test/case", "{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aBc' is lower }}", {}),
    ("test/callable", "{{ range is callable }} {{ 'x'.upper is callable }} {{ 1 is callable }}", {}),
    ("test/filter_test_exist", "{{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'even' is test }} {{ 'nope' is test }}", {}),
    ("test/not", "{{ x is not none }} {{ not x is none }} {{ x is not string }}", {"x": "s"}),
    ("test/unknown_raises", "{{ 1 is frobnicated }}", {}),
    ("method/str", "{{ ' a b '.strip() }}|{{ 'xax'.strip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('bc') }}{{ 'abc'.startswith(('x', 'a')) }}|{{ 'a-b'.replace('-', '+') }}|{{ 'hello world'.title() }}|{{ 'hello'.capitalize() }}", {}),
    ("method/str_more", "{{ 'abcabc'.find('c') }} {{ 'abcabc'.rfind('c') }} {{ 'abcabc'.count('bc') }} {{ '-'.join(['a', 'b']) }} {{ 'a\\nb\\r\\nc'.splitlines() }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ '  '.isspace() }} {{ 'x'.center(5, '*') }} {{ '5'.zfill(3) }} {{ 'a=b=c'.partition('=') }} {{ 'prefix_x'.removeprefix('prefix_') }} {{ '{} and {name}'.format(1, name='n') }} {{ ' x '.lstrip() }}|{{ ' x '.rstrip() }}|", {}),
    ("method/dict", "{{ d.get('a') }} {{ d.get('z', 9) }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}", {"d": {"a": 1, "b": 2}}),
    ("method/list_readonly", "{{ l.index(2) }} {{ l.count(1) }}", {"l": [1, 2, 1]}),
    ("sandbox/append_raises_in_hf", "{% set l = [] %}{% set _ = l.append(1) %}{{ l }}", {}),
    ("sandbox/pop_raises_in_hf", "{% set l = [1] %}{{ l.pop() }}", {}),
    ("sandbox/dict_update_raises_in_hf", "{% set d = {} %}{% set _ = d.update({'a': 1}) %}{{ d }}", {}),
    ("sandbox/private_attr_undefined", "[{{ 'x'.__class__ }}]", {}),
    ("sandbox/dunder_on_dict", "[{{ d.__class__ }}]", {"d": {}}),
    ("global/raise_exception", "{% if true %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}", {}),
    ("global/strftime_now", "{{ strftime_now('%Y-%m-%d %H:%M:%S') }} {{ strftime_now('%d %B %Y') }} {{ strftime_now('%b %a %A %j %I%p') }}", {}),
    ("global/dict", "{{ dict(a=1, b='x') }}", {}),
    ("error/unclosed_block", "{% if true %}no end", {}),
    ("error/unknown_tag", "{% frobnicate %}", {}),
    ("error/bad_expression", "{{ 1 + }}", {}),
    ("error/unclosed_variable", "{{ x ", {}),
    ("error/unclosed_comment", "{# never closed", {}),
    ("error/unclosed_string", "{{ 'abc }}", {}),
    ("error/break_outside_loop", "{% break %}", {}),
    ("error/include_not_allowed", "{% include 'x.jinja' %}", {}),
    ("error/call_undefined", "{{ nothing() }}", {}),
    ("error/call_non_callable", "{{ 'x'() }}", {}),
    ("error/extra_endfor", "{% endfor %}", {}),
    ("error/undefined_arith", "{{ nothing + 1 }}", {}),
    ("error/elif_after_else", "{% if a %}{% else %}{% elif b %}{% endif %}", {}),
    ("complex/alternation_check", "{% for m in messages %}{% if (m.role == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('roles must alternate user/assistant') }}{% endif %}{{ m.role }}:{{ m.content }}\n{% endfor %}", {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}),
    ("complex/alternation_fails", "{% for m in messages %}{% if (m.role == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('roles must alternate user/assistant') }}{% endif %}{% endfor %}", {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}),
    ("complex/chatml", "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}", {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}], "add_generation_prompt": True}),
    ("complex/tools_block", "{%- if tools %}\n# Tools\n{%- for tool in tools %}\n{{ tool | tojson }}\n{%- endfor %}\n{%- endif %}\n{%- for m in messages %}\n  {%- if m.role == 'system' %}\n<sys>{{ m.content | trim }}</sys>\n  {%- else %}\n<{{ m.role }}>{{ m.content }}\n  {%- endif %}\n{%- endfor %}", {"tools": TOOLS, "messages": [{"role": "system", "content": "  S  "}, {"role": "user", "content": "U"}]}),
    ("complex/last_user_index", "{%- set ns = namespace(last=-1) %}{%- for m in messages %}{%- if m.role == 'user' %}{%- set ns.last = loop.index0 %}{%- endif %}{%- endfor %}{{ ns.last }} {{ messages[ns.last].content }}", {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]}),
    ("complex/reverse_range_loop", "{% for i in range(messages|length - 1, -1, -1) %}{{ messages[i] }}{% endfor %}", {"messages": ["a", "b", "c"]}),
    ("complex/content_split_think", "{% set c = content %}{% if '</think>' in c %}{% set c = c.split('</think>')[-1].lstrip('\\n') %}{% endif %}[{{ c }}]", {"content": "<think>\nhmm\n</think>\n\nAnswer"}),
    ("complex/multiline_layout", "<s>\n{% for m in messages %}\n    {% if m.role == 'user' %}\n    [INST] {{ m.content }} [/INST]\n    {% else %}\n    {{ m.content }}</s>\n    {% endif %}\n{% endfor %}\n", {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}),
]

MUTABLE_FEATURES = [
    ("mutable/append_pop", "{% set l = [] %}{% set _ = l.append(1) %}{% set _ = l.append(2) %}{{ l }} {{ l.pop(0) }} {{ l }}", {}),
    ("mutable/queue_pattern", "{% set q = namespace(ids=[]) %}{% for x in ['a', 'b'] %}{% set _ = q.ids.append(x) %}{% endfor %}{{ q.ids.pop(0) }}{{ q.ids }}", {}),
    ("mutable/dict_update", "{% set d = {'a': 1} %}{% set _ = d.update({'b': 2}) %}{{ d }} {{ d.pop('a') }} {{ d }} {{ d.setdefault('c', 3) }} {{ d }}", {}),
    ("mutable/list_ops", "{% set l = [3, 1, 2] %}{% set _ = l.sort() %}{{ l }}{% set _ = l.reverse() %}{{ l }}{% set _ = l.insert(0, 9) %}{{ l }}{% set _ = l.extend([7]) %}{{ l }}{% set _ = l.remove(9) %}{{ l }}", {}),
    ("mutable/pop_empty_raises", "{% set l = [] %}{{ l.pop() }}", {}),
]


MORE_FEATURES = [
    ("lex/braces_in_text", "a { b } c {x} }} %} #} { {", {}),
    ("lex/delimiters_in_strings", "{{ '}}' }}{{ '{{' }}{{ '%}' }}{% if '%}' %}y{% endif %}", {}),
    ("lex/comment_with_tags", "a{# {{ x }} {% if %} #}b", {}),
    ("lex/raw_strip_both", "x\n  {%- raw -%}  \n {{ y }} \n  {%- endraw -%}\n  z", {}),
    ("lex/raw_lstrip_end", "{% raw %}\nabc\n    {% endraw %}\nq", {}),
    ("lex/comment_lstrip_trim", "a\n    {# c #}\nb\n\t{#- d #}\ne", {}),
    ("lex/block_after_text_same_line", "text {% if true %}\nyes{% endif %}\n", {}),
    ("lex/nested_dict_literal", "{{ {'a': {'b': {'c': [1, {'d': 2}]}}}['a']['b']['c'][1]['d'] }}", {}),
    ("lex/minus_number_vs_strip", "{{ 5 -3 }}|{{ 5 - 3 -}} |{{- -3 }}", {}),
    ("lex/whitespace_only_lines", "{% for i in [1, 2] %}\n    \n  {{ i }}\n{% endfor %}\n", {}),
    ("lex/crlf_in_tags", "{% if true %}\r\n  a\r\n{% endif %}\r\n", {}),
    ("lex/unicode_text", "中文 {{ '😀' }} ü\n{% if true %}\n\u3000x{% endif %}", {}),
    ("lex/leading_newline_kept", "\n\n{{ 'a' }}", {}),
    ("lex/else_lstrip", "{% if false %}\n  a\n  {% else %}\n  b\n  {% endif %}\n", {}),
    ("expr/float_more", "{{ 1/3 }} {{ 2**0.5 }} {{ 10 % 3.5 }} {{ -7.5 // 2 }} {{ 0.1 * 3 }} {{ 1e-7 }} {{ 123e300 * 10 }} {{ 5e-324 }} {{ 1.7976931348623157e308 }}", {}),
    ("expr/int_float_eq", "{{ 1.0 == 1 }} {{ 1 in [1.0] }} {{ {1: 'a'}[1.0] }} {{ true + true }}", {}),
    ("expr/not_precedence", "{{ not 1 == 2 }} {{ not x is defined }} {{ x is not defined and true }}", {}),
    ("expr/or_undefined", "{{ (nothing or 'fallback') }} {{ (message.get('name') or message['role']) }}", {"message": {"role": "user", "name": None}}),
    ("expr/list_index_on_undefined_member", "[{{ l.missing }}]", {"l": [1]}),
    ("expr/loop_outside_loop", "[{{ loop }}]{{ loop is defined }}", {}),
    ("expr/namespace_print", "{% set ns = namespace(a=1, b='x') %}{{ ns }}", {}),
    ("expr/tuple_tojson", "{{ (1, 'a')|tojson }} {{ [(1, 2)]|tojson }}", {}),
    ("expr/string_multiply_zero", "[{{ 'ab' * 0 }}][{{ 'ab' * -1 }}]", {}),
    ("expr/compare_none", "{{ none == none }} {{ none != 0 }} {{ x == none }}", {"x": None}),
    ("expr/list_concat_compare", "{{ [1] + [2, 3] }} {{ [1, 2] == [1, 2] }} {{ {'a': 1} == {'a': 1} }} {{ {'a': 1} == {'a': 1.0} }}", {}),
    ("filter/join_dict", "{{ {'b': 1, 'a': 2}|join('-') }}", {}),
    ("filter/first_generator", "{{ [1, 2, 3]|select('odd')|first }} {{ [1, 2]|map('string')|join('+') }}", {}),
    ("filter/last_generator_raises", "{{ [1, 2]|select|last }}", {}),
    ("filter/selectattr_defined", "{{ items|selectattr('x', 'defined')|map(attribute='x')|list }} {{ items|rejectattr('x', 'none')|list|length }}", {"items": [{"x": 1}, {"y": 2}, {"x": None}]}),
    ("filter/dictsort_loop", "{% for k, v in d|dictsort %}{{ k }}{{ v }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("filter/sum_start", "{{ [1, 2, 3]|sum(start=10) }} {{ [0.5, 0.25]|sum }}", {}),
    ("filter/center_odd", "[{{ 'Hello'|center(11) }}][{{ 'ab'|center(5) }}][{{ 'abc'|center(6) }}]", {}),
    ("filter/string_length", "{{ 12345|string|length }} {{ [1, 2]|string }}", {}),
    ("filter/tojson_nested_floats", "{{ {'a': [1e-7, 1e16, 2.5, 100.0, -1.5e-10]}|tojson }}", {}),
    ("filter/tojson_control_chars", "{{ s|tojson }}", {"s": "tab\there\u0000nul\u001f\u2028line\\back\"q/slash"}),
    ("filter/tojson_bool_keys", "{{ {1: 'a', true: 'b', 2.5: 'c'}|tojson }}", {}),
    ("filter/tojson_sort_mixed_raises", "{{ {1: 'a', 'b': 2}|tojson(sort_keys=true) }}", {}),
    ("filter/default_chain", "{{ nothing|default(none)|default('x') }} {{ none|default('y', true) }} {{ 0|default('z', boolean=true) }}", {}),
    ("filter/lower_on_undefined", "[{{ nothing|lower }}][{{ nothing|upper }}][{{ nothing|string }}][{{ nothing|trim }}]", {}),
    ("filter/int_edge", "{{ '-12'|int }} {{ '+7'|int }} {{ '1e3'|int }} {{ ''|int }} {{ none|int }} {{ '0b101'|int(base=2) }} {{ ' 3 '|float }} {{ 'inf'|float }} {{ '-nan'|float }}", {}),
    ("filter/round_more", "{{ 0.5|round }} {{ 1.5|round }} {{ 2.5|round(0, 'floor') }} {{ 1.005|round(2) }} {{ 12|round(-1) }} {{ 15|round(-1) }} {{ 25|round(-1) }} {{ -0.5|round }}", {}),
    ("filter/unique_attribute", "{{ users|unique(attribute='g')|map(attribute='n')|list }}", {"users": [{"n": 1, "g": "a"}, {"n": 2, "g": "A"}, {"n": 3, "g": "b"}]}),
    ("filter/replace_count_zero", "{{ 'aaa'|replace('a', 'b', 0) }}", {}),
    ("filter/map_on_dict_items", "{{ d|items|map('first')|list }} {{ d|items|map('last')|list }}", {"d": {"x": 1, "y": 2}}),
    ("filter/list_of_range_slice", "{{ range(10)[2:5]|list }} {{ (range(5)|list)[-2:] }}", {}),
    ("test/in_string", "{{ 'a' is in 'abc' }} {{ 'z' is in ['a'] }}", {}),
    ("test/sequence_mapping", "{{ 'x' is sequence }} {{ {} is sequence }} {{ 1 is sequence }} {{ ns is mapping }}", {"ns": {"a": 1}}),
    ("method/split_edge", "{{ ''.split() }} {{ ''.split(',') }} {{ 'a,'.split(',') }} {{ '  a  b  '.split(None, 1) }} {{ 'a b c'.rsplit(None, 1) }} {{ 'x'.split('x') }}", {}),
    ("method/strip_chars", "{{ '<<a>>'.strip('<>') }} {{ '\\n\\n x'.lstrip('\\n') }} {{ 'a\\n'.rstrip() }}|", {}),
    ("method/startswith_ranges", "{{ 'abcdef'.startswith('cd', 2) }} {{ 'abcdef'.endswith('cd', 0, 4) }} {{ 'abc'.startswith('') }}", {}),
    ("method/upper_on_nonascii", "{{ 'straße ǅ éà'.upper() }} {{ 'ÉCOLE'.lower() }} {{ 'éa'.title() }}", {}),
    ("method/get_none_key", "{{ d.get('k') is none }} {{ d.get('k', 'v') }}", {"d": {"k": None}}),
    ("method/items_unpack", "{% for k, v in d.items() if v %}{{ k }}{% endfor %}", {"d": {"a": 0, "b": 1, "c": 2}}),
    ("macro/default_refers_param", "{% macro m(a, b=a * 2) %}{{ a }}-{{ b }}{% endmacro %}{{ m(3) }} {{ m(3, 1) }}", {}),
    ("macro/in_loop_uses_loop_var", "{% macro show(x) %}<{{ x }}>{% endmacro %}{% for i in [1, 2] %}{{ show(i) }}{% endfor %}", {}),
    ("macro/caller_with_macro_args", "{% macro list_items(items) %}<ul>{% for i in items %}<li>{{ caller(i, loop.index) }}</li>{% endfor %}</ul>{% endmacro %}{% call(item, n) list_items(['a', 'b']) %}{{ n }}:{{ item }}{% endcall %}", {}),
    ("macro/returns_string_for_concat", "{% macro m() %}x{% endmacro %}{{ m() ~ 'y' }} {{ m()|length }} {{ m() + 'z' }}", {}),
    ("scope/if_inside_loop_then_outside", "{% set ns = namespace(v='') %}{% for m in ['a', 'b'] %}{% if loop.last %}{% set ns.v = m %}{% endif %}{% endfor %}{{ ns.v }}", {}),
    ("scope/set_then_for_same_name", "{% set m = 'outer' %}{% for m in ['x'] %}{{ m }}{% endfor %}{{ m }}", {}),
    ("scope/block_set_in_loop", "{% for i in [1, 2] %}{% set s %}<{{ i }}>{% endset %}{{ s }}{% endfor %}", {}),
    ("scope/with_nested", "{% with a = 1 %}{% with b = a + 1 %}{{ a }}{{ b }}{% endwith %}{% endwith %}", {}),
    ("loop/index_with_break", "{% for i in range(5) %}{% if i > 2 %}{% break %}{% endif %}{{ loop.index }}/{{ loop.length }} {% endfor %}", {}),
    ("loop/nested_loop_access_outer", "{% for a in [1, 2] %}{% set outer = loop %}{% for b in [1] %}{{ outer.index }}{{ loop.index }} {% endfor %}{% endfor %}", {}),
    ("loop/continue_in_else_free", "{% for x in [1, 2, 3] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% else %}none{% endfor %}", {}),
    ("error/unclosed_paren", "{{ (1 + 2 }}", {}),
    ("error/bad_set_target", "{% set 1 = 2 %}", {}),
    ("error/missing_in", "{% for x [1] %}{% endfor %}", {}),
    ("error/endif_without_if", "{% endif %}", {}),
    ("error/endmacro_mismatch", "{% macro m() %}{% endfor %}", {}),
    ("error/filter_arg_type", "{{ 'a'|join(1, 2, 3, 4) }}", {}),
    ("error/int_unpack_too_many", "{% set a, b = [1, 2, 3] %}", {}),
    ("error/not_iterable_int", "{% for x in 5 %}{% endfor %}", {}),
    ("error/unhashable_key", "{{ {[1]: 2} }}", {}),
    ("frame/store_after_nested_read", "{% for i in [1] %}[{{ x }}]{% endfor %}{% set x = 1 %}{{ x }}", {"x": 3}),
    ("frame/load_before_store_same_frame", "{{ x }}{% set x = 1 %}{{ x }}", {"x": 3}),
    ("frame/macro_reads_later_store", "{% macro m() %}[{{ x }}]{% endmacro %}{{ m() }}{% set x = 1 %}{{ m() }}", {"x": 3}),
    ("frame/branch_store_resolves", "{% for i in [1] %}[{{ x }}]{% endfor %}{% if false %}{% set x = 1 %}{% endif %}", {"x": 3}),
    ("frame/if_else_store_resolves", "{% for i in [1] %}[{{ x }}]{% endfor %}{% if c %}{% set x = 1 %}{% else %}{% set x = 2 %}{% endif %}{{ x }}", {"x": 3, "c": True}),
    ("frame/if_elif_else_store_undefined", "{% for i in [1] %}[{{ x }}]{% endfor %}{% if c %}{% set x = 1 %}{% elif d %}{% set x = 2 %}{% else %}{% set x = 4 %}{% endif %}{{ x }}", {"x": 3, "c": False, "d": False}),
    ("frame/nested_loop_frames", "{% for i in [1] %}{% for j in [1] %}[{{ x }}]{% endfor %}{% set x = 5 %}{{ x }}{% endfor %}{{ x }}", {"x": 3}),
    ("frame/loop_compare_raises", "{% for i in [1] %}{{ x > 1 }}{% endfor %}{% set x = 1 %}", {"x": 3}),
    ("frame/macro_param_set_in_body", "{% macro m(a, b=2) %}{% set a = a ~ '!' %}{% set b = b * 2 %}{{ a }}{{ b }}{% endmacro %}{{ m('x') }}", {}),
    ("frame/filter_block_scope", "{% filter upper %}{% set q = 'in' %}{{ q }}{% endfilter %}[{{ q }}]", {}),
    ("frame/with_reads_later", "{% with a = 1 %}[{{ y }}]{% endwith %}{% set y = 2 %}", {"y": 9}),
    ("error/undefined_int_raises", "{{ missing|int }}", {}),
    ("error/undefined_float_raises", "{{ missing|float }}", {}),
    ("hf/generation_tag", "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}!{% endgeneration %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}", {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}),
]


def feature_cases():
    out = [{"name": n, "template": t, "context": c} for n, t, c in FEATURES + MORE_FEATURES]
    out += [{"name": n, "template": t, "context": c, "mode": "mutable"} for n, t, c in MUTABLE_FEATURES]
    return out


def all_cases():
    from random_cases import random_cases
    return real_template_cases() + kimi_cases() + feature_cases() + random_cases()
