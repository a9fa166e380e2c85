import { h, type ComponentChildren } from 'preact';

// Model output rendered as Markdown without ever becoming HTML: every piece is a text node or an
// element built here, so `<script>` or `<img onerror>` in an answer stays text. Covers what
// answers use: paragraphs, headings, lists, quotes, fenced code (highlighted), inline code, bold,
// italics and links (http, https and mailto only).

const KEYWORDS = new Set(
  (
    'const let var function return if else for while do switch case break continue new class extends import export from default ' +
    'async await try catch finally throw typeof instanceof in of def elif lambda pass yield with as and or not is None True False ' +
    'null true false undefined this self struct enum impl fn pub use mod match interface type package func go select public private static void int string bool'
  ).split(' '),
);
const TOKEN =
  /(\/\/[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/)|("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_$][\w$]*)/g;

/** A code block's text as spans for comments, strings, numbers and keywords (a light, language-agnostic highlighter). */
export function highlight(code: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let last = 0;
  for (const match of code.matchAll(TOKEN)) {
    const [text, comment, str, num, word] = match;
    const kind = comment ? 'comment' : str ? 'string' : num ? 'number' : word && KEYWORDS.has(word) ? 'keyword' : null;
    if (!kind) continue;
    if (match.index > last) out.push(code.slice(last, match.index));
    out.push(h('span', { class: `tok-${kind}` }, text));
    last = match.index + text.length;
  }
  if (last < code.length) out.push(code.slice(last));
  return out;
}

const INLINE = /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]+)\]\(([^)\s]+)\)/g;

function safeHref(url: string): string | null {
  return /^(https?:|mailto:)/i.test(url) ? url : null;
}

export function inline(text: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) out.push(text.slice(last, match.index));
    const [whole, , code, bold1, bold2, em1, em2, label, url] = match;
    if (code !== undefined) out.push(h('code', null, code));
    else if (bold1 ?? bold2) out.push(h('strong', null, inline(bold1 ?? bold2)));
    else if (em1 ?? em2) out.push(h('em', null, inline(em1 ?? em2)));
    else if (label !== undefined) {
      const href = safeHref(url);
      out.push(href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, inline(label)) : whole);
    }
    last = match.index + whole.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Markdown as Preact elements. */
export function markdown(source: string): ComponentChildren[] {
  const blocks: ComponentChildren[] = [];
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length) blocks.push(h('p', null, withBreaks(paragraph)));
    paragraph = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)\s*([\w+#.-]*)/.exec(line);
    if (fence) {
      flush();
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trimStart().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      const code = body.join('\n');
      blocks.push(h('pre', { class: 'code', 'data-lang': fence[2] || undefined }, h('code', null, highlight(code))));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      blocks.push(h(`h${Math.min(heading[1].length + 2, 6)}`, null, inline(heading[2])));
      i++;
      continue;
    }
    if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
      flush();
      const ordered = /^\s*\d/.test(line);
      const items: ComponentChildren[] = [];
      while (i < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i])) {
        items.push(h('li', null, inline(lines[i].replace(/^\s*([-*+]|\d+[.)])\s+/, ''))));
        i++;
      }
      blocks.push(h(ordered ? 'ol' : 'ul', null, items));
      continue;
    }
    if (/^>\s?/.test(line)) {
      flush();
      const quoted: string[] = [];
      while (i < lines.length && /^>\s?/.test(lines[i])) quoted.push(lines[i++].replace(/^>\s?/, ''));
      blocks.push(h('blockquote', null, markdown(quoted.join('\n'))));
      continue;
    }
    if (!line.trim()) flush();
    else paragraph.push(line);
    i++;
  }
  flush();
  return blocks;
}

function withBreaks(lines: string[]): ComponentChildren[] {
  return lines.flatMap((line, k) => (k ? [h('br', null), ...inline(line)] : inline(line)));
}
