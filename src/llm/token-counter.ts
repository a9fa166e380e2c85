import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type tiktoken from 'tiktoken';
import { DomainError } from '../common/errors/domain-error.js';
import type { ChatMessage, ContentPart } from './chat-types.js';
import { audioTokenBound, type ImageTokens, imagePartTokens } from './part-bounds.js';
import { countTokens, MAX_TOKEN_BYTES } from './tokens/bpe-count.js';

// OpenAI's accounting: each message costs a few tokens of framing, and every reply is primed
// with three more. Exact for OpenAI's current models; a close estimate for the others.
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
export const REPLY_PRIMING = 3;
/** Every role name is a single token in o200k_base. */
const ROLE_TOKENS = 1;
/**
 * Repeated texts (persona prompts, the history a stateless client resends each turn) are counted
 * once: tiktoken costs ~0.25 µs per byte, a Map lookup a fraction of that.
 */
const CACHE_MIN_CHARS = 64;
const CACHE_MAX_ENTRIES = 4_096;
const CACHE_MAX_CHARS = 8_000_000;
/**
 * Texts counted together on the main thread while their length stays under this (a few
 * milliseconds of tiktoken); longer batches go to the tokenizer worker.
 */
const INLINE_CHARS = 16_384;

const WORKER_URL = new URL('./tokens/tokenizer.worker.js', import.meta.url);
/** tiktoken is loaded on the first real count: its WASM costs ~22 MB compiled, the encoder ~64 MB more. */
const load = createRequire(import.meta.url);

interface WorkerJob {
  id: number;
  texts: string[];
  resolve(counts: number[]): void;
  reject(err: Error): void;
}

/**
 * Counts tokens with tiktoken's o200k_base encoding, in time linear in the text (see
 * tokens/bpe-count.js). Short texts are counted inline; a request's long texts go to one worker
 * thread, so that counting never holds the event loop for more than a few milliseconds. One
 * encoder per thread, loaded on first use (each costs ~60 MB that WASM never gives back), and
 * none at all where an upper bound will do (promptCeiling: admission of a call that fits). User
 * text is encoded as ordinary text, so a prompt containing `<|endoftext|>` is counted, not refused.
 */
@Injectable()
export class TokenCounter implements OnModuleDestroy {
  private encoder: ReturnType<typeof tiktoken.get_encoding> | null = null;
  private readonly cache = new Map<string, number>();
  private cachedChars = 0;
  private worker: Worker | null = null;
  private readonly jobs: WorkerJob[] = [];
  private running: WorkerJob | null = null;
  private nextId = 1;

  /** The fewest tokens a text of this many UTF-8 bytes can be: a refusal that needs no counting. */
  static lowerBound(bytes: number): number {
    return Math.ceil(bytes / MAX_TOKEN_BYTES);
  }

  /** The fewest tokens the messages' text can be, from its size alone. */
  static promptFloor(messages: readonly ChatMessage[]): number {
    let bytes = 0;
    for (const m of messages) {
      if (typeof m.content === 'string') bytes += Buffer.byteLength(m.content);
      else if (Array.isArray(m.content)) for (const p of m.content) if (p.type === 'text') bytes += Buffer.byteLength(p.text);
    }
    return TokenCounter.lowerBound(bytes);
  }

  /**
   * The most tokens `countPrompt` can give for these messages and tools, from their size alone: no
   * o200k_base token is shorter than one UTF-8 byte, so a text has at most as many tokens as bytes;
   * framing, images and audio cost what countPrompt charges them.
   */
  static promptCeiling(messages: readonly ChatMessage[], tools: unknown, images: ImageTokens): number {
    let bytes = tools ? Buffer.byteLength(JSON.stringify(tools)) : 0;
    const add = (text: string | null | undefined) => {
      if (text) bytes += Buffer.byteLength(text);
    };
    let fixed = REPLY_PRIMING;
    for (const message of messages) fixed += TokenCounter.frame(message, images, add);
    return fixed + bytes;
  }

  /** Tokens of a short text, counted inline. Long texts: countMany, which keeps them off the main thread. */
  count(text: string): number {
    if (!text) return 0;
    if (text.length < CACHE_MIN_CHARS) return this.encode(text);
    const hit = this.cache.get(text);
    if (hit !== undefined) return hit;
    const n = this.encode(text);
    this.remember(text, n);
    return n;
  }

  /** Tokens of each text: inline while the uncached ones are short, otherwise in the worker. */
  async countMany(texts: readonly string[]): Promise<number[]> {
    const out = new Array<number>(texts.length);
    const pending: number[] = [];
    let pendingChars = 0;
    texts.forEach((text, i) => {
      const hit = text.length >= CACHE_MIN_CHARS ? this.cache.get(text) : undefined;
      if (!text) out[i] = 0;
      else if (hit !== undefined) out[i] = hit;
      else {
        pending.push(i);
        pendingChars += text.length;
      }
    });
    if (!pending.length) return out;
    if (pendingChars <= INLINE_CHARS) {
      for (const i of pending) out[i] = this.count(texts[i]);
      return out;
    }
    const counts = await this.inWorker(pending.map((i) => texts[i]));
    pending.forEach((i, k) => {
      out[i] = counts[k];
      if (texts[i].length >= CACHE_MIN_CHARS) this.remember(texts[i], counts[k]);
    });
    return out;
  }

  async countText(text: string): Promise<number> {
    return (await this.countMany([text]))[0];
  }

  /**
   * Tokens each message takes in a prompt: framing, name, text and refusal parts, tool calls,
   * and the most its images and audio may cost on the model. File parts count nothing here: the
   * attachment resolver turns them into text, or bounds those it leaves inline.
   */
  async countMessages(messages: readonly ChatMessage[], images: ImageTokens): Promise<number[]> {
    const texts: string[] = [];
    const owner: number[] = [];
    const fixed = messages.map((message, i) =>
      TokenCounter.frame(message, images, (text) => {
        if (!text) return;
        texts.push(text);
        owner.push(i);
      }),
    );
    const counts = await this.countMany(texts);
    counts.forEach((c, k) => (fixed[owner[k]] += c));
    return fixed;
  }

  /** Prompt tokens of a request: its messages, the reply priming, and any tool definitions. */
  async countPrompt(messages: readonly ChatMessage[], tools: unknown, images: ImageTokens): Promise<number> {
    const [perMessage, toolTokens] = await Promise.all([
      this.countMessages(messages, images),
      tools ? this.countText(JSON.stringify(tools)) : Promise.resolve(0),
    ]);
    return REPLY_PRIMING + perMessage.reduce((a, b) => a + b, 0) + toolTokens;
  }

  onModuleDestroy(): Promise<void> | void {
    this.encoder?.free();
    this.encoder = null;
    const worker = this.worker;
    this.worker = null;
    for (const job of this.jobs.splice(0)) job.reject(new DomainError('unavailable', 'The server is shutting down.'));
    this.running?.reject(new DomainError('unavailable', 'The server is shutting down.'));
    this.running = null;
    if (worker) return worker.terminate().then(() => undefined);
  }

  /** A message's fixed cost (framing, name, images, audio), handing each of its texts to `add`. */
  private static frame(message: ChatMessage, images: ImageTokens, add: (text: string | null | undefined) => void): number {
    let n = TOKENS_PER_MESSAGE + ROLE_TOKENS;
    if (message.name) {
      n += TOKENS_PER_NAME;
      add(message.name);
    }
    if (typeof message.content === 'string') add(message.content);
    else if (Array.isArray(message.content)) {
      for (const part of message.content) n += TokenCounter.partTokens(part, images, add);
    }
    if (message.tool_calls) add(JSON.stringify(message.tool_calls));
    if (message.tool_call_id) add(message.tool_call_id);
    return n;
  }

  /** A content part's fixed cost, handing its text (if any) to `add`. */
  private static partTokens(part: ContentPart, images: ImageTokens, add: (text: string) => void): number {
    switch (part.type) {
      case 'text':
        add(part.text);
        return 0;
      case 'refusal':
        add(part.refusal);
        return 0;
      case 'image_url':
        return imagePartTokens(part, images);
      case 'input_audio':
        return audioTokenBound(part);
      case 'file':
        return 0;
    }
  }

  private encode(text: string): number {
    this.encoder ??= (load('tiktoken') as typeof tiktoken).get_encoding('o200k_base');
    return countTokens(this.encoder, text);
  }

  private remember(text: string, n: number): void {
    if (this.cache.size >= CACHE_MAX_ENTRIES || this.cachedChars + text.length > CACHE_MAX_CHARS) {
      this.cache.clear();
      this.cachedChars = 0;
    }
    this.cache.set(text, n);
    this.cachedChars += text.length;
  }

  private inWorker(texts: string[]): Promise<number[]> {
    return new Promise((resolve, reject) => {
      this.jobs.push({ id: this.nextId++, texts, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.running || !this.jobs.length) return;
    const worker = this.worker ?? this.spawn();
    const job = this.jobs.shift()!;
    this.running = job;
    worker.ref();
    worker.postMessage({ id: job.id, texts: job.texts });
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_URL);
    worker.on('message', (reply: { id: number; ok: boolean; counts?: number[]; message?: string }) => {
      const job = this.running;
      if (!job || reply.id !== job.id) return;
      this.running = null;
      worker.unref();
      if (reply.ok) job.resolve(reply.counts!);
      else job.reject(new DomainError('internal', `Token counting failed: ${reply.message}`));
      this.pump();
    });
    const lost = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      const job = this.running;
      this.running = null;
      job?.reject(new DomainError('internal', 'The tokenizer worker stopped.', { cause: err }));
      this.pump();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`tokenizer worker exited with code ${code}`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
