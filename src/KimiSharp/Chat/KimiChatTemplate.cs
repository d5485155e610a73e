namespace KimiSharp.Chat;

/// <summary>
/// KimiSharp's own Jinja chat template for Kimi-K2's documented prompt format: an optional
/// <c>tool_declare</c> system turn holding the tools as JSON, the default system prompt when the first
/// message is not a system message, <c>&lt;|im_user|&gt;</c>/<c>&lt;|im_assistant|&gt;</c>/<c>&lt;|im_system|&gt;</c>
/// + role or name + <c>&lt;|im_middle|&gt;</c>, assistant tool calls between the section/call markers with
/// their ids, tool results as <c>## Return of {id}\n…</c>, <c>&lt;|im_end|&gt;</c> after every message and
/// the generation prompt <c>&lt;|im_assistant|&gt;assistant&lt;|im_middle|&gt;</c>.
/// It renders identically in Python's Jinja2 (Hugging Face settings) and in <see cref="JinjaTemplate"/>,
/// and is what test models embed as <c>tokenizer.chat_template</c>.
/// </summary>
public static class KimiChatTemplate
{
    /// <summary>The default system prompt inserted when the conversation does not start with one.</summary>
    public const string DefaultSystemPrompt = "You are Kimi, an AI assistant created by Moonshot AI.";

    /// <summary>The template text.</summary>
    public const string Source = """
{#- KimiSharp's own rendering of the Kimi-K2 chat format. -#}
{%- if tools -%}
<|im_system|>tool_declare<|im_middle|>{{ tools | tojson }}<|im_end|>
{%- endif -%}
{%- if not messages or messages[0]['role'] != 'system' -%}
<|im_system|>system<|im_middle|>You are Kimi, an AI assistant created by Moonshot AI.<|im_end|>
{%- endif -%}
{%- for message in messages -%}
{%- set role = message['role'] -%}
{%- if role == 'user' -%}
<|im_user|>
{%- elif role == 'assistant' -%}
<|im_assistant|>
{%- else -%}
<|im_system|>
{%- endif -%}
{{- message['name'] if message['name'] else role -}}
<|im_middle|>
{%- if role == 'tool' -%}
{{- '## Return of ' ~ message['tool_call_id'] ~ '\n' -}}
{%- endif -%}
{%- set content = message['content'] -%}
{%- if content is string -%}
{{- content -}}
{%- elif content -%}
{%- for part in content -%}
{%- if part['type'] == 'text' -%}
{{- part['text'] -}}
{%- elif part['type'] == 'image' or part['type'] == 'image_url' -%}
<|media_start|>image<|media_content|><|media_pad|><|media_end|>
{%- endif -%}
{%- endfor -%}
{%- endif -%}
{%- if role == 'assistant' and message['tool_calls'] -%}
<|tool_calls_section_begin|>
{%- for call in message['tool_calls'] -%}
<|tool_call_begin|>{{ call['id'] }}<|tool_call_argument_begin|>
{%- if call['function']['arguments'] is string -%}
{{- call['function']['arguments'] -}}
{%- else -%}
{{- call['function']['arguments'] | tojson -}}
{%- endif -%}
<|tool_call_end|>
{%- endfor -%}
<|tool_calls_section_end|>
{%- endif -%}
<|im_end|>
{%- endfor -%}
{%- if add_generation_prompt -%}
<|im_assistant|>assistant<|im_middle|>
{%- endif -%}
""";
}
