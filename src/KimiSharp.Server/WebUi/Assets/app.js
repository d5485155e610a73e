// KimiSharp chat page: conversations in localStorage, answers streamed from our own /v1/chat/completions (SSE with
// stream_options.include_usage), rendered with KimiMarkdown (markdown.js). No dependencies, no build step.
//
// Hooks the browser tests rely on: textarea#prompt, button#send, button#stop, each message element's
// data-role ("user" | "assistant") and data-state ("streaming" | "done" | "stopped" | "error"), the answer text
// in its .body, tool calls in .tool-call, tokens/s in .stats; #conversations li[data-id]; dialog#api-key-dialog.
(function () {
  'use strict';

  const DEFAULT_SETTINGS = Object.freeze({
    system: 'You are Kimi, an AI assistant created by Moonshot AI.',
    temperature: 0.6,
    maxTokens: 2048,
  });
  const KEYS = Object.freeze({
    conversations: 'kimi.conversations',
    current: 'kimi.current',
    settings: 'kimi.settings',
    apiKey: 'kimi.apiKey',
  });
  const NEW_TITLE = 'New chat';

  const $ = (selector) => document.querySelector(selector);
  const ui = {
    conversations: $('#conversations'),
    messages: $('#messages'),
    notice: $('#notice'),
    model: $('#model'),
    title: $('#title'),
    composer: $('#composer'),
    prompt: $('#prompt'),
    send: $('#send'),
    stop: $('#stop'),
    settings: $('#settings'),
    keyDialog: $('#api-key-dialog'),
    keyInput: $('#api-key'),
    keyReason: $('#api-key-reason'),
  };

  // ---- storage ------------------------------------------------------------------------------------------------

  function load(key, fallback) {
    try {
      const text = localStorage.getItem(key);
      return text === null ? fallback : JSON.parse(text);
    } catch {
      return fallback;
    }
  }

  function store(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      showNotice(`Could not save to the browser's storage: ${e.message}`);
    }
  }

  const loaded = load(KEYS.conversations, []);
  const conversations = Array.isArray(loaded) ? loaded.filter((c) => c && typeof c.id === 'string' && Array.isArray(c.messages)) : [];
  let currentId = load(KEYS.current, null);
  let settings = { ...DEFAULT_SETTINGS, ...load(KEYS.settings, {}) };
  let apiKey = String(load(KEYS.apiKey, '') || '');
  let modelId = null;
  let contextLength = null; // the server's n_ctx: max_tokens is capped to it
  let running = null; // { controller, conversation, message, element }

  // An answer that was streaming when the page went away ends as stopped.
  for (const c of conversations)
    for (const m of c.messages) if (m.state === 'streaming') m.state = 'stopped';

  function persist() {
    store(KEYS.conversations, conversations);
    store(KEYS.current, currentId);
  }

  const current = () => conversations.find((c) => c.id === currentId) || null;

  function newConversation() {
    const conversation = { id: `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`, title: NEW_TITLE, created: Date.now(), messages: [] };
    conversations.unshift(conversation);
    currentId = conversation.id;
    persist();
    return conversation;
  }

  // ---- rendering ----------------------------------------------------------------------------------------------

  function showNotice(text) {
    ui.notice.textContent = text || '';
    ui.notice.hidden = !text;
  }

  function renderList() {
    ui.conversations.replaceChildren(...conversations.map((c) => {
      const item = document.createElement('li');
      item.dataset.id = c.id;
      item.classList.toggle('current', c.id === currentId);
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'open';
      open.textContent = c.title || NEW_TITLE;
      open.title = c.title || NEW_TITLE;
      const rename = document.createElement('button');
      rename.type = 'button';
      rename.className = 'rename';
      rename.title = 'Rename';
      rename.textContent = '✎';
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'delete';
      remove.title = 'Delete';
      remove.textContent = '×';
      item.append(open, rename, remove);
      return item;
    }));
  }

  function renderConversation() {
    const conversation = current();
    ui.title.textContent = conversation ? conversation.title : 'Kimi';
    ui.messages.replaceChildren(...(conversation ? conversation.messages : []).map((m) => {
      const element = messageElement(m);
      if (running && running.message === m) running.element = element;
      return element;
    }));
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function messageElement(message) {
    const element = document.createElement('article');
    element.className = 'message';
    element.dataset.role = message.role;
    const body = document.createElement('div');
    body.className = 'body';
    element.append(body);
    if (message.role === 'assistant') {
      const tools = document.createElement('div');
      tools.className = 'tool-calls';
      const stats = document.createElement('div');
      stats.className = 'stats';
      element.append(tools, stats);
    }
    paint(element, message);
    return element;
  }

  function paint(element, message) {
    const body = element.querySelector('.body');
    if (message.role === 'user') {
      body.textContent = message.content;
      return;
    }
    element.dataset.state = message.state || 'done';
    body.innerHTML = window.KimiMarkdown.render(message.content || '');
    const tools = element.querySelector('.tool-calls');
    tools.replaceChildren(...(message.toolCalls || []).map((call) => {
      const details = document.createElement('details');
      details.className = 'tool-call';
      details.open = true;
      const summary = document.createElement('summary');
      summary.textContent = `Tool call: ${call.name || '(unnamed)'}`;
      const args = document.createElement('pre');
      args.textContent = prettyJson(call.arguments);
      details.append(summary, args);
      return details;
    }));
    element.querySelector('.stats').textContent = statsText(message);
  }

  function prettyJson(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text || '';
    }
  }

  function statsText(message) {
    const s = message.stats;
    const parts = [];
    if (message.state === 'stopped') parts.push('stopped');
    if (message.state === 'error') parts.push(`error: ${message.error || 'unknown'}`);
    if (message.finishReason === 'length') parts.push('cut at max tokens');
    if (s && s.completionTokens != null) parts.push(`${s.completionTokens} tokens`);
    if (s && s.tokensPerSecond != null) parts.push(`${s.tokensPerSecond.toFixed(1)} tokens/s`);
    if (s && s.seconds != null) parts.push(`${s.seconds.toFixed(1)} s`);
    return parts.join(' · ');
  }

  let paintQueued = false;

  function schedulePaint() {
    if (paintQueued) return;
    paintQueued = true;
    requestAnimationFrame(() => {
      paintQueued = false;
      if (running) paintRunning();
    });
  }

  function paintRunning() {
    if (!running.element || !running.element.isConnected) return;
    const nearBottom = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 80;
    paint(running.element, running.message);
    if (nearBottom) ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function setStreaming(on) {
    ui.send.hidden = on;
    ui.stop.hidden = !on;
    document.body.classList.toggle('streaming', on);
  }

  // ---- talking to the server ----------------------------------------------------------------------------------

  function headers() {
    const h = { 'Content-Type': 'application/json' };
    if (apiKey) h.Authorization = `Bearer ${apiKey}`;
    return h;
  }

  async function errorText(response) {
    const text = await response.text().catch(() => '');
    try {
      const body = JSON.parse(text);
      const error = body.error;
      if (error && typeof error.message === 'string') return error.message;
      if (typeof error === 'string') return error;
    } catch {
      // not JSON: fall through to the raw text
    }
    return text.trim() || `HTTP ${response.status} ${response.statusText}`;
  }

  async function loadModel() {
    try {
      const response = await fetch('v1/models', { headers: headers() });
      if (response.status === 401) {
        askForKey(await errorText(response), loadModel);
        return;
      }
      if (!response.ok) return;
      const body = await response.json();
      const model = body && Array.isArray(body.data) ? body.data[0] : null;
      if (model && typeof model.id === 'string') {
        modelId = model.id;
        contextLength = model.meta && model.meta.n_ctx > 0 ? model.meta.n_ctx : null;
        const context = model.meta && model.meta.n_ctx ? ` · context ${model.meta.n_ctx}` : '';
        ui.model.textContent = model.id + context;
      }
    } catch {
      // the server is unreachable now; sending will say so
    }
  }

  /** Reads a text/event-stream body, calling onData with each data: payload parsed as JSON, until [DONE]. */
  async function readEvents(stream, onData) {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(0), { stream: !done });
      buffer = buffer.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
        if (!data) continue;
        if (data === '[DONE]') return;
        onData(JSON.parse(data));
      }
      if (done) return;
    }
  }

  /** The conversation up to (not including) the answer being generated, as chat messages. */
  function requestMessages(conversation, answer) {
    const list = [];
    if (settings.system && settings.system.trim()) list.push({ role: 'system', content: settings.system });
    for (const m of conversation.messages) {
      if (m === answer) break;
      // Tool calls are shown but not sent back: the page runs no tools, so there is no result to pair them with.
      if (m.role === 'user') list.push({ role: 'user', content: m.content });
      else if (m.role === 'assistant' && m.content) list.push({ role: 'assistant', content: m.content });
    }
    return list;
  }

  async function generate(conversation) {
    const message = { role: 'assistant', content: '', toolCalls: [], state: 'streaming' };
    conversation.messages.push(message);
    const controller = new AbortController();
    running = { controller, conversation, message, element: null };
    if (conversation.id === currentId) {
      running.element = messageElement(message);
      ui.messages.append(running.element);
      ui.messages.scrollTop = ui.messages.scrollHeight;
    }
    setStreaming(true);
    showNotice('');

    const body = {
      messages: requestMessages(conversation, message),
      stream: true,
      stream_options: { include_usage: true },
      temperature: Number(settings.temperature),
    };
    if (settings.maxTokens) body.max_tokens = contextLength ? Math.min(Number(settings.maxTokens), contextLength) : Number(settings.maxTokens);
    if (modelId) body.model = modelId;

    const started = performance.now();
    let firstTokenAt = null;
    let usage = null;
    let timings = null;
    let retryAfterKey = null;
    try {
      const response = await fetch('v1/chat/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body), signal: controller.signal });
      if (response.status === 401) {
        retryAfterKey = await errorText(response);
      } else if (!response.ok) {
        throw new Error(await errorText(response));
      } else {
        await readEvents(response.body, (chunk) => {
          if (chunk.error) throw new Error(chunk.error.message || 'the server reported an error');
          if (chunk.usage) usage = chunk.usage;
          if (chunk.timings) timings = chunk.timings;
          for (const choice of chunk.choices || []) {
            const delta = choice.delta || {};
            if (typeof delta.content === 'string' && delta.content) {
              firstTokenAt ??= performance.now();
              message.content += delta.content;
            }
            for (const call of delta.tool_calls || []) {
              firstTokenAt ??= performance.now();
              const slot = (message.toolCalls[call.index ?? 0] ??= { id: '', name: '', arguments: '' });
              if (call.id) slot.id = call.id;
              if (call.function && call.function.name) slot.name += call.function.name;
              if (call.function && call.function.arguments) slot.arguments += call.function.arguments;
            }
            if (choice.finish_reason) message.finishReason = choice.finish_reason;
          }
          schedulePaint();
        });
        message.state = 'done';
      }
    } catch (e) {
      if (e.name === 'AbortError') {
        message.state = 'stopped';
      } else {
        message.state = 'error';
        message.error = e.message || String(e);
      }
    }

    const finished = performance.now();
    if (retryAfterKey !== null) {
      conversation.messages.splice(conversation.messages.indexOf(message), 1);
      if (running.element) running.element.remove();
    } else {
      message.toolCalls = message.toolCalls.filter(Boolean);
      message.stats = answerStats(usage, timings, firstTokenAt, finished, started);
    }
    const element = running.element;
    running = null;
    setStreaming(false);
    if (element && element.isConnected) paint(element, message);
    persist();
    if (retryAfterKey !== null) askForKey(retryAfterKey, () => generate(conversation));
  }

  /** Tokens and tokens/s: the server's count (usage) and rate (timings), else timed here from the first token. */
  function answerStats(usage, timings, firstTokenAt, finished, started) {
    const completionTokens = usage ? usage.completion_tokens : null;
    let tokensPerSecond = timings && timings.predicted_per_second > 0 ? timings.predicted_per_second : null;
    if (tokensPerSecond === null && completionTokens > 1 && firstTokenAt !== null && finished > firstTokenAt)
      tokensPerSecond = (completionTokens - 1) / ((finished - firstTokenAt) / 1000);
    return { completionTokens, promptTokens: usage ? usage.prompt_tokens : null, tokensPerSecond, seconds: (finished - started) / 1000 };
  }

  function send() {
    const text = ui.prompt.value;
    if (running || !text.trim()) return;
    const conversation = current() || newConversation();
    conversation.messages.push({ role: 'user', content: text });
    if (conversation.title === NEW_TITLE) conversation.title = text.trim().replace(/\s+/g, ' ').slice(0, 48);
    ui.prompt.value = '';
    persist();
    renderList();
    renderConversation();
    generate(conversation);
  }

  // ---- dialogs ------------------------------------------------------------------------------------------------

  let afterKey = null;

  function askForKey(reason, then) {
    afterKey = then;
    ui.keyReason.textContent = `The server needs an API key (${reason}).`;
    ui.keyInput.value = apiKey;
    if (!ui.keyDialog.open) ui.keyDialog.showModal();
    ui.keyInput.focus();
  }

  function saveKey(key) {
    apiKey = key.trim();
    store(KEYS.apiKey, apiKey);
  }

  function openSettings() {
    $('#system-prompt').value = settings.system;
    $('#temperature').value = settings.temperature;
    $('#max-tokens').value = settings.maxTokens || '';
    $('#settings-api-key').value = apiKey;
    ui.settings.showModal();
  }

  function saveSettings() {
    const temperature = Number($('#temperature').value);
    const maxTokensText = $('#max-tokens').value.trim();
    const maxTokens = maxTokensText === '' ? null : Number(maxTokensText);
    settings = {
      system: $('#system-prompt').value,
      temperature: Number.isFinite(temperature) && temperature >= 0 && temperature <= 2 ? temperature : DEFAULT_SETTINGS.temperature,
      maxTokens: maxTokens === null || (Number.isInteger(maxTokens) && maxTokens > 0) ? maxTokens : DEFAULT_SETTINGS.maxTokens,
    };
    store(KEYS.settings, settings);
    const key = $('#settings-api-key').value;
    if (key.trim() !== apiKey) {
      saveKey(key);
      loadModel();
    }
  }

  // ---- events -------------------------------------------------------------------------------------------------

  ui.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  ui.prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  ui.stop.addEventListener('click', () => running && running.controller.abort());

  $('#new-chat').addEventListener('click', () => {
    currentId = null;
    persist();
    renderList();
    renderConversation();
    ui.prompt.focus();
  });

  ui.conversations.addEventListener('click', (e) => {
    const button = e.target.closest('button');
    const item = e.target.closest('li');
    if (!button || !item) return;
    const conversation = conversations.find((c) => c.id === item.dataset.id);
    if (!conversation) return;
    if (button.classList.contains('open')) {
      currentId = conversation.id;
    } else if (button.classList.contains('rename')) {
      const title = prompt('Rename the conversation', conversation.title);
      if (title && title.trim()) conversation.title = title.trim();
    } else if (button.classList.contains('delete')) {
      if (!confirm(`Delete "${conversation.title}"?`)) return;
      if (running && running.conversation === conversation) running.controller.abort();
      conversations.splice(conversations.indexOf(conversation), 1);
      if (currentId === conversation.id) currentId = null;
    }
    persist();
    renderList();
    renderConversation();
  });

  ui.messages.addEventListener('click', async (e) => {
    const button = e.target.closest('button.copy');
    if (!button) return;
    const code = button.closest('.code-block').querySelector('code').textContent;
    button.textContent = (await copyText(code)) ? 'Copied' : 'Copy failed';
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  });

  /** The clipboard API where the page is a secure context (localhost, https), else the old selection copy. */
  async function copyText(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch {
      // fall back below
    }
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }

  $('#open-settings').addEventListener('click', openSettings);
  $('#settings-cancel').addEventListener('click', () => ui.settings.close());
  $('#settings-reset').addEventListener('click', () => {
    $('#system-prompt').value = DEFAULT_SETTINGS.system;
    $('#temperature').value = DEFAULT_SETTINGS.temperature;
    $('#max-tokens').value = DEFAULT_SETTINGS.maxTokens;
  });
  $('#settings-form').addEventListener('submit', saveSettings);

  $('#api-key-cancel').addEventListener('click', () => {
    afterKey = null;
    ui.keyDialog.close();
  });
  $('#api-key-form').addEventListener('submit', () => {
    saveKey(ui.keyInput.value);
    const then = afterKey;
    afterKey = null;
    if (then) then();
  });

  // ---- start --------------------------------------------------------------------------------------------------

  if (currentId !== null && !current()) currentId = null;
  renderList();
  renderConversation();
  loadModel();
  ui.prompt.focus();
})();
