import { StringDecoder } from 'node:string_decoder';

/** One server-sent event: its `event:` name (null when unnamed) and its `data:` lines joined by newlines. */
export interface ServerSentEvent {
  event: string | null;
  data: string;
}

/**
 * Incremental text/event-stream parser (the WHATWG rules the openai SDK follows): lines end in
 * LF, CRLF or CR; `data:` lines accumulate, a blank line dispatches; comments (`:`) and `id:` /
 * `retry:` are ignored. Bytes may split anywhere, multi-byte characters included.
 */
export class SseDecoder {
  private readonly text = new StringDecoder('utf8');
  private pending = '';
  private event: string | null = null;
  private data: string[] = [];
  /** The last chunk ended in CR: an LF opening the next one belongs to that line break. */
  private skipLf = false;

  /** The events the bytes complete, in order. */
  push(bytes: Buffer): ServerSentEvent[] {
    return this.lines(this.text.write(bytes), false);
  }

  /** The event left unterminated when the stream ended, if any. */
  end(): ServerSentEvent[] {
    return this.lines(this.text.end(), true);
  }

  private lines(chunk: string, final: boolean): ServerSentEvent[] {
    const out: ServerSentEvent[] = [];
    let text = this.pending + chunk;
    if (this.skipLf && text.charCodeAt(0) === 10) text = text.slice(1);
    this.skipLf = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(text.slice(start, i), out);
      if (c === 13) {
        if (i + 1 === text.length) this.skipLf = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.pending = text.slice(start);
    if (final) {
      if (this.pending) this.line(this.pending, out);
      this.pending = '';
      this.line('', out);
    }
    return out;
  }

  private line(line: string, out: ServerSentEvent[]): void {
    if (line === '') {
      if (this.data.length) out.push({ event: this.event, data: this.data.join('\n') });
      this.event = null;
      this.data = [];
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' comment
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }
}
