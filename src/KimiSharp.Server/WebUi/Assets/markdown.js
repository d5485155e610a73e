// KimiSharp chat page: a small Markdown renderer for model answers (no dependencies).
//
// Safety: every piece of the model's text is HTML-escaped before any markup is added around it, so the text can
// never become a tag or an attribute. Links keep only http(s), mailto and relative targets (no javascript: or
// data:), open in a new tab with rel="noopener noreferrer", and their URLs stay escaped inside the quotes.
//
// Blocks: ATX headings, fenced code (``` or ~~~, with a copy button; an unclosed fence runs to the end, as while
// streaming), bullet and ordered lists (nested by indentation), block quotes, tables, horizontal rules,
// paragraphs (single line breaks kept). Inline: code spans, links and bare URLs, **bold**, *italic*, ~~strike~~.
(function (global) {
  'use strict';

  const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
  }

  // Stashed HTML is written as OPEN index CLOSE; both are control characters removed from the input first.
  const OPEN = '\u0001';
  const CLOSE = '\u0002';

  const FENCE = /^( {0,3})(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$/;
  const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
  const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
  const QUOTE = /^ {0,3}> ?(.*)$/;
  const ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/;
  const TABLE_RULE = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

  function render(markdown) {
    const text = String(markdown ?? '')
      .replace(/\r\n?/g, '\n')
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
    return renderBlocks(text.split('\n'), false);
  }

  const isBlank = (line) => /^\s*$/.test(line);
  const indentOf = (line) => /^ */.exec(line)[0].length;

  function isTableStart(lines, i) {
    return i + 1 < lines.length && lines[i].includes('|') && lines[i + 1].includes('-') && TABLE_RULE.test(lines[i + 1]);
  }

  /** True when line i opens a block other than a paragraph (so it ends a paragraph). */
  function startsBlock(lines, i) {
    const line = lines[i];
    return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line) || isTableStart(lines, i);
  }

  /** Renders lines as blocks; in a tight list item paragraphs are not wrapped in <p>. */
  function renderBlocks(lines, tight) {
    const out = [];
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      let m;
      if (isBlank(line)) {
        i++;
      } else if ((m = FENCE.exec(line))) {
        i = renderFence(lines, i, m, out);
      } else if ((m = HEADING.exec(line))) {
        const level = m[1].length;
        out.push(`<h${level}>${inline(m[2] || '')}</h${level}>`);
        i++;
      } else if (RULE.test(line)) {
        out.push('<hr>');
        i++;
      } else if (QUOTE.test(line)) {
        const body = [];
        while (i < lines.length && (m = QUOTE.exec(lines[i]))) {
          body.push(m[1]);
          i++;
        }
        out.push(`<blockquote>${renderBlocks(body, false)}</blockquote>`);
      } else if (ITEM.test(line)) {
        i = renderList(lines, i, out);
      } else if (isTableStart(lines, i)) {
        i = renderTable(lines, i, out);
      } else {
        const paragraph = [];
        do {
          paragraph.push(lines[i].trim());
          i++;
        } while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines, i));
        const html = inline(paragraph.join('\n')).replace(/\n/g, '<br>');
        out.push(tight ? html : `<p>${html}</p>`);
      }
    }
    return out.join('');
  }

  function renderFence(lines, i, m, out) {
    const indent = m[1].length;
    const fence = m[2];
    const closing = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`);
    const body = [];
    for (i++; i < lines.length && !closing.test(lines[i]); i++)
      body.push(lines[i].slice(Math.min(indent, indentOf(lines[i]))));
    out.push(codeBlock(body.join('\n'), m[3]));
    return i + 1; // past the closing fence (or the end)
  }

  function codeBlock(code, info) {
    const language = String(info || '').replace(/[^\w+#.-]/g, '');
    const label = language ? `<span class="code-lang">${escapeHtml(language)}</span>` : '<span class="code-lang"></span>';
    const cls = language ? ` class="language-${escapeHtml(language)}"` : '';
    return `<div class="code-block"><div class="code-head">${label}<button type="button" class="copy">Copy</button></div>` +
      `<pre><code${cls}>${escapeHtml(code)}</code></pre></div>`;
  }

  function renderList(lines, i, out) {
    const head = ITEM.exec(lines[i]);
    const indent = head[1].length;
    const ordered = /\d/.test(head[2]);
    const items = [];
    let loose = false;
    while (i < lines.length) {
      const m = ITEM.exec(lines[i]);
      if (!m || m[1].length !== indent || /\d/.test(m[2]) !== ordered) break;
      const column = indent + m[2].length + 1;
      const body = [m[3] || ''];
      for (i++; i < lines.length;) {
        const line = lines[i];
        if (isBlank(line)) {
          let next = i;
          while (next < lines.length && isBlank(lines[next])) next++;
          if (next < lines.length && indentOf(lines[next]) > indent) {
            body.push('');
            i = next;
            continue;
          }
          const sibling = next < lines.length ? ITEM.exec(lines[next]) : null;
          if (sibling && sibling[1].length === indent && /\d/.test(sibling[2]) === ordered) {
            loose = true;
            i = next;
          }
          break;
        }
        if (indentOf(line) > indent) {
          body.push(line.slice(Math.min(indentOf(line), column)));
          i++;
        } else if (!startsBlock(lines, i)) {
          body.push(line.trim()); // a lazy continuation line
          i++;
        } else {
          break;
        }
      }
      items.push(body);
    }
    if (items.some((body) => body.includes(''))) loose = true;
    const tag = ordered ? 'ol' : 'ul';
    const start = ordered ? parseInt(head[2], 10) : 1;
    const open = ordered && start !== 1 ? `<ol start="${start}">` : `<${tag}>`;
    out.push(open + items.map((body) => `<li>${renderBlocks(body, !loose)}</li>`).join('') + `</${tag}>`);
    return i;
  }

  function splitRow(line) {
    let row = line.trim();
    if (row.startsWith('|')) row = row.slice(1);
    if (row.endsWith('|') && !row.endsWith('\\|')) row = row.slice(0, -1);
    return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
  }

  function renderTable(lines, i, out) {
    const header = splitRow(lines[i]);
    const aligns = splitRow(lines[i + 1]).map((c) =>
      c.startsWith(':') && c.endsWith(':') ? 'center' : c.endsWith(':') ? 'right' : c.startsWith(':') ? 'left' : '');
    const cell = (tag, text, column) =>
      `<${tag}${aligns[column] ? ` class="align-${aligns[column]}"` : ''}>${inline(text ?? '')}</${tag}>`;
    const rows = [];
    for (i += 2; i < lines.length && !isBlank(lines[i]) && lines[i].includes('|'); i++) rows.push(splitRow(lines[i]));
    out.push('<div class="table-wrap"><table><thead><tr>' + header.map((h, c) => cell('th', h, c)).join('') + '</tr></thead><tbody>' +
      rows.map((row) => '<tr>' + header.map((_, c) => cell('td', row[c], c)).join('') + '</tr>').join('') +
      '</tbody></table></div>');
    return i;
  }

  /** The escaped URL when it is safe to link to (http, https, mailto, or relative), else null. */
  function safeHref(escapedUrl) {
    const url = escapedUrl.replace(/&amp;/g, '&');
    if (/^(?:https?:\/\/|mailto:)/i.test(url)) return escapedUrl;
    if (/^[^:/?#]*(?:[/?#]|$)/.test(url)) return escapedUrl; // no scheme before the first / ? or #
    return null;
  }

  function anchor(href, label, title) {
    const titleAttribute = title ? ` title="${title}"` : '';
    return `<a href="${href}"${titleAttribute} target="_blank" rel="noopener noreferrer">${label}</a>`;
  }

  function inline(raw) {
    const stash = [];
    const keep = (html) => OPEN + (stash.push(html) - 1) + CLOSE;
    let s = raw.replace(/(`+)([^`][\s\S]*?)\1(?!`)/g, (_, ticks, code) => {
      const trimmed = /^ [\s\S]* $/.test(code) && code.trim() ? code.slice(1, -1) : code;
      return keep(`<code>${escapeHtml(trimmed)}</code>`);
    });
    s = escapeHtml(s);
    s = s.replace(/\[([^\]\n]+)\]\(\s*((?:[^\s()]|\([^\s()]*\))+)(?:\s+&quot;([^\n]*?)&quot;)?\s*\)/g, (all, label, url, title) => {
      const href = safeHref(url);
      return href === null ? label : keep(anchor(href, emphasis(label), title));
    });
    s = s.replace(/\bhttps?:\/\/(?:[^\s&<>"'\u0001\u0002]|&amp;)*[^\s&<>"'\u0001\u0002.,;:!?)\]]/g, (url) => keep(anchor(url, url)));
    s = emphasis(s);
    return s.replace(/\u0001(\d+)\u0002/g, (_, n) => stash[Number(n)]);
  }

  function emphasis(s) {
    return s
      .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<strong>$1</strong>')
      .replace(/(?<!\w)__(?=\S)([\s\S]*?\S)__(?!\w)/g, '<strong>$1</strong>')
      .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '<del>$1</del>')
      .replace(/(?<!\*)\*(?=[^\s*])([\s\S]*?[^\s*])\*(?!\*)/g, '<em>$1</em>')
      .replace(/(?<!\w)_(?=[^\s_])([\s\S]*?[^\s_])_(?!\w)/g, '<em>$1</em>');
  }

  global.KimiMarkdown = Object.freeze({ render, escapeHtml });
})(window);
