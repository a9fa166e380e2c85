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

/**
 * Counts tokens with tiktoken's o200k_base encoding. One encoder per process (loading it costs
 * ~60 MB that WASM never gives back), never one per request. User text is encoded as ordinary
 * text, so a prompt containing `<|endoftext|>` is counted, not rejected.
 */
@Injectable()
export class TokenCounter implements OnModuleDestroy {
  private encoder: ReturnType<typeof tiktoken.get_encoding> | null = null;

  count(text: string): number {
    if (!text) return 0;
    this.encoder ??= tiktoken.get_encoding('o200k_base');
    return this.encoder.encode_ordinary(text).length;
  }

  /** Tokens of one message as it sits in a prompt, framing included. */
  countMessage(message: ChatMessage): number {
    let n = TOKENS_PER_MESSAGE + this.count(message.role);
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
