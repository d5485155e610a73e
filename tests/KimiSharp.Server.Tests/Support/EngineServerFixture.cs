using System.ClientModel;
using Anthropic;
using KimiSharp.Chat;
using KimiSharp.Engine;
using KimiSharp.Server.Backend;
using KimiSharp.Server.Hosting;
using KimiSharp.Text;
using OpenAI;
using OpenAI.Chat;

namespace KimiSharp.Server.Tests.Support;

/// <summary>
/// A real server over the real stack — <see cref="InferenceEngine"/>, the test vocabulary's tokenizer, the
/// Kimi chat template, the streaming decoder and the tool-call parser — with only the model scripted.
/// </summary>
public class EngineServerFixture : IAsyncLifetime
{
    private readonly string _template;

    public EngineServerFixture()
        : this(KimiChatTemplate.Source)
    {
    }

    /// <param name="template">The chat template the backend renders with (a thinking model's, for instance).</param>
    protected EngineServerFixture(string template) => _template = template;

    internal ScriptedLanguageModel Model { get; private set; } = null!;

    public EngineChatBackend Backend { get; private set; } = null!;

    public KimiServer Server { get; private set; } = null!;

    public Tokenizer Tokenizer { get; private set; } = null!;

    /// <summary>The backend's constrained decoding (null: the default, on).</summary>
    protected virtual EnforcementOptions? Enforcement => null;

    public async Task InitializeAsync()
    {
        var tokenizer = Tokenizer = Tokenizer.Create(TestVocabulary.Build());
        Model = new ScriptedLanguageModel(tokenizer);
        var engine = new InferenceEngine(Model, tokenizer, new EngineOptions { ContextLength = 4096, MaxActiveSequences = 4 });
        Backend = new EngineChatBackend(engine, tokenizer, new ChatFormatter(_template, "[BOS]", "<|im_end|>"), "kimi-scripted",
            enforcement: Enforcement);
        Server = await KimiServer.StartAsync(Backend, new ServerOptions { Port = 0 });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Backend.Dispose();
    }

    public ChatClient OpenAiChat() =>
        new("kimi-scripted", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(Server.BaseAddress, "/v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });

    public AnthropicClient Anthropic() =>
        new() { ApiKey = "unused", BaseUrl = Server.BaseAddress.ToString().TrimEnd('/'), MaxRetries = 0, ResponseValidation = true };
}

/// <summary>
/// The same stack with a thinking model's template: a small template of our own in Kimi-K2-Thinking's format
/// (assistant turns open with <c>&lt;think&gt;reasoning&lt;/think&gt;</c>; reasoning of turns before the last plain
/// answer is dropped, as Kimi-K2-Thinking's template does).
/// </summary>
public sealed class ThinkingEngineServerFixture() : EngineServerFixture(Template)
{
    public const string Template = """
{%- set ns = namespace(last_answer=-1) -%}
{%- for m in messages -%}{%- if m['role'] == 'assistant' and not m.get('tool_calls') -%}{%- set ns.last_answer = loop.index0 -%}{%- endif -%}{%- endfor -%}
{%- if tools -%}<|im_system|>tool_declare<|im_middle|>{{ tools | tojson }}<|im_end|>{%- endif -%}
{%- for m in messages -%}
{%- if m['role'] == 'user' -%}<|im_user|>user<|im_middle|>
{%- elif m['role'] == 'assistant' -%}<|im_assistant|>assistant<|im_middle|>
{%- else -%}<|im_system|>{{ m['role'] }}<|im_middle|>{%- endif -%}
{%- if m['role'] == 'assistant' -%}<think>{{ m.get('reasoning_content', '') if loop.index0 > ns.last_answer else '' }}</think>{%- endif -%}
{%- if m['role'] == 'tool' -%}## Return of {{ m['tool_call_id'] }}
{% endif -%}
{{ m['content'] }}
{%- if m.get('tool_calls') -%}<|tool_calls_section_begin|>
{%- for c in m['tool_calls'] -%}<|tool_call_begin|>{{ c['id'] }}<|tool_call_argument_begin|>{{ c['function']['arguments'] }}<|tool_call_end|>{%- endfor -%}
<|tool_calls_section_end|>{%- endif -%}
<|im_end|>
{%- endfor -%}
{%- if add_generation_prompt -%}<|im_assistant|>assistant<|im_middle|>{%- endif -%}
""";
}

/// <summary>The same stack as <c>kimi serve --no-enforce</c>: no constraint reaches the engine.</summary>
public sealed class UnenforcedEngineServerFixture : EngineServerFixture
{
    protected override EnforcementOptions? Enforcement => new(Enabled: false);
}
