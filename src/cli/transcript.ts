import type { MessageInfo } from './api-types.js';
import { formatTime } from './format.js';
import type { Style } from './style.js';

/** A message's text, with attached files as "📎 name" lines (names from the conversation's file list). */
export function messageText(content: MessageInfo['content'], fileNames: ReadonlyMap<string, string>): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  const lines: string[] = [];
  for (const part of content) {
    if (part.type === 'text' && typeof part.text === 'string') lines.push(part.text);
    else if (part.type === 'file') {
      const file = (part as { file: { file_id?: string; filename?: string } }).file;
      lines.push(`📎 ${file.filename ?? fileNames.get(file.file_id ?? '') ?? file.file_id ?? 'file'}`);
    } else if (part.type === 'image_url') lines.push('📎 image');
  }
  return lines.join('\n');
}

/** A conversation as a readable transcript: a header line per message, then its text. */
export function renderTranscript(messages: MessageInfo[], fileNames: ReadonlyMap<string, string>, style: Style): string {
  return messages
    .map((m) => {
      const who = m.role === 'user' ? 'you' : m.role === 'assistant' ? (m.model ?? 'assistant') : m.role;
      const status = m.status === 'incomplete' ? ' (stopped)' : m.status === 'error' ? ' (failed)' : '';
      const header = style.dim(`── ${who}${status} · ${formatTime(m.created_at)}`);
      return `${header}\n${messageText(m.content, fileNames)}\n`;
    })
    .join('\n');
}
