import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import tiktoken from 'tiktoken';
import type { ChatMessage, ContentPart, ImagePart, TextPart } from './chat-types.js';

// OpenAI's accounting: each message costs a few tokens of framing, and every reply is primed
// with three more. Exact for OpenAI's current models; a close estimate for the others.
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING = 3;
/** A low-detail image; high detail depends on the size, which is unknown here: a 512×512 tile. */
const IMAGE_TOKENS_LOW = 85;
const IMAGE_TOKENS_HIGH = 765;
/** Every role name is a single token in o200k_base. */
const ROLE_TOKENS = 1;
/**
 * Repeated texts (persona prompts, the history a stateless client resends each turn) are counted
 * once: tiktoken costs ~0.6 µs per token, a Map lookup a fraction of that.
 */
const CACHE_MIN_CHARS = 64;
const CACHE_MAX_ENTRIES = 4_096;
const CACHE_MAX_CHARS = 8_000_000;

/**
 * Counts tokens with tiktoken's o200k_base encoding. One encoder per process (loading it costs
 * ~60 MB that WASM never gives back), never one per request. User text is encoded as ordinary
 * text, so a prompt containing `<|endoftext|>` is counted, not rejected.
 */
@Injectable()
export class TokenCounter implements OnModuleDestroy {
  private encoder: ReturnType<typeof tiktoken.get_encoding> | null = null;
  private readonly cache = new Map<string, number>();
  private cachedChars = 0;

  count(text: string): number {
    if (!text) return 0;
    if (text.length < CACHE_MIN_CHARS) return this.encode(text);
    const hit = this.cache.get(text);
    if (hit !== undefined) return hit;
    const n = this.encode(text);
    if (this.cache.size >= CACHE_MAX_ENTRIES || this.cachedChars + text.length > CACHE_MAX_CHARS) {
      this.cache.clear();
      this.cachedChars = 0;
    }
    this.cache.set(text, n);
    this.cachedChars += text.length;
    return n;
  }

  private encode(text: string): number {
    this.encoder ??= tiktoken.get_encoding('o200k_base');
    return this.encoder.encode_ordinary(text).length;
  }

  /**
   * Counts a long text (a 200-page document) in slices cut before whitespace, yielding to the
   * event loop between them so that other requests are not held up. Equal to count() except
   * for the rare token spanning a cut.
   */
  async countLong(text: string, sliceChars = 32_768): Promise<number> {
    if (text.length <= sliceChars) return this.count(text);
    let total = 0;
    for (let start = 0; start < text.length; ) {
      let end = Math.min(text.length, start + sliceChars);
      if (end < text.length) {
        const space = text.lastIndexOf(' ', end);
        if (space > start) end = space;
      }
      total += this.encode(text.slice(start, end));
      start = end;
      await new Promise((r) => setImmediate(r));
    }
    return total;
  }

  /** Tokens of one message as it sits in a prompt, framing included. */
  countMessage(message: ChatMessage): number {
    let n = TOKENS_PER_MESSAGE + ROLE_TOKENS;
    if (message.name) n += TOKENS_PER_NAME + this.count(message.name);
    n += this.countContent(message.content);
    if (message.tool_calls) n += this.count(JSON.stringify(message.tool_calls));
    if (message.tool_call_id) n += this.count(message.tool_call_id);
    return n;
  }

  /** Prompt tokens of a request: its messages, the reply priming, and any tool definitions. */
  countPrompt(messages: readonly ChatMessage[], tools?: unknown): number {
    let n = REPLY_PRIMING;
    for (const message of messages) n += this.countMessage(message);
    if (tools) n += this.count(JSON.stringify(tools));
    return n;
  }

  countContent(content: ChatMessage['content']): number {
    if (content == null) return 0;
    if (typeof content === 'string') return this.count(content);
    let n = 0;
    for (const part of content as ContentPart[]) {
      if (part.type === 'text') n += this.count((part as TextPart).text);
      else if (part.type === 'image_url') n += (part as ImagePart).image_url.detail === 'low' ? IMAGE_TOKENS_LOW : IMAGE_TOKENS_HIGH;
    }
    return n;
  }

  onModuleDestroy(): void {
    this.encoder?.free();
    this.encoder = null;
  }
}
