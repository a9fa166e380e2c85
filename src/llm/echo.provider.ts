import { randomBytes } from 'node:crypto';
import type { ChatChunk, ChatCompletion, ChatMessage, ChatRequestBody, Usage } from './chat-types.js';
import { hashEmbedding } from './hash-embedding.js';
import {
  LlmProvider,
  UpstreamFailure,
  type ChunkSource,
  type EmbeddingRequest,
  type EmbeddingResult,
  type ImageRequest,
  type ImageResult,
} from './llm-provider.js';
import { placeholderPng } from './placeholder-image.js';
import { ECHO_MODEL, BUILTIN_PROVIDER } from './model-catalog.js';
import { DEFAULT_IMAGE_TOKENS } from './part-bounds.js';
import type { TokenCounter } from './token-counter.js';

const FILE_HEADER = /^\[file: ([^,\]]+)(?:, [^\]]*)?\]/;
const IMAGE_LABEL = /^\[image: ([^\]]+)\]$/;

/**
 * The built-in provider, needing no key and no network. colloquy/echo answers deterministically
 * with the last user text, then one line per attachment naming the file and its type, and streams
 * word by word; colloquy/embed turns texts into feature-hashed vectors; colloquy/image draws
 * placeholder pictures. Usage is counted with the
 * same tokenizer the server meters with.
 */
export class EchoProvider extends LlmProvider {
  readonly name = BUILTIN_PROVIDER;

  constructor(private readonly tokens: TokenCounter) {
    super();
  }

  async complete(body: ChatRequestBody, signal: AbortSignal): Promise<ChatCompletion> {
    if (signal.aborted) throw new UpstreamFailure('aborted', 'The request was aborted.');
    const text = echoText(body.messages);
    return {
      id: completionId(),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: ECHO_MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: await this.usage(body, text),
    };
  }

  async stream(body: ChatRequestBody, signal: AbortSignal): Promise<ChunkSource> {
    const text = echoText(body.messages);
    const words = text.split(/(?<=\s)/);
    const id = completionId();
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: ChatChunk['choices'][0]['delta'], finish: string | null): ChatChunk => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: ECHO_MODEL,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
    const queue: ChatChunk[] = [chunk({ role: 'assistant', content: '' }, null)];
    for (const word of words) queue.push(chunk({ content: word }, null));
    queue.push(chunk({}, 'stop'));
    if (body.stream_options?.include_usage) queue.push({ ...chunk({}, null), choices: [], usage: await this.usage(body, text) });
    let i = 0;
    return {
      next: async () => {
        if (signal.aborted) throw new UpstreamFailure('aborted', 'The request was aborted.');
        // Yield to the event loop between words, like a network stream would.
        await new Promise((r) => setImmediate(r));
        return i < queue.length ? { done: false, value: queue[i++] } : { done: true, value: undefined };
      },
      cancel: async () => {
        i = queue.length;
      },
    };
  }

  /** colloquy/embed: feature-hashed vectors, counted with the server's tokenizer. */
  async embed(body: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult> {
    if (signal.aborted) throw new UpstreamFailure('aborted', 'The request was aborted.');
    const vectors = body.input.map((input) => hashEmbedding(input, body.dimensions));
    const promptTokens = body.input.reduce((n, input) => n + (typeof input === 'string' ? this.tokens.count(input) : input.length), 0);
    return { vectors, promptTokens };
  }

  /** colloquy/image: placeholder PNGs drawn from the prompt, base64 only (nothing to host a URL). */
  async generateImage(body: ImageRequest, signal: AbortSignal): Promise<ImageResult> {
    if (signal.aborted) throw new UpstreamFailure('aborted', 'The request was aborted.');
    const [width, height] = (body.size && body.size !== 'auto' ? body.size : '256x256').split('x').map(Number);
    const data = Array.from({ length: body.n ?? 1 }, (_, i) => ({
      b64_json: placeholderPng(i === 0 ? body.prompt : `${body.prompt}#${i}`, width, height).toString('base64'),
      revised_prompt: body.prompt,
    }));
    return { response: { created: Math.floor(Date.now() / 1000), data, size: `${width}x${height}`, output_format: 'png' }, usage: null };
  }

  private async usage(body: ChatRequestBody, text: string): Promise<Usage> {
    const [prompt, completion] = await Promise.all([
      this.tokens.countPrompt(body.messages, body.tools, DEFAULT_IMAGE_TOKENS),
      this.tokens.countText(text),
    ]);
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }
}

/** The reply: the last user text, then a line per attachment ("📎 name (type)"). */
export function echoText(messages: readonly ChatMessage[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (!last || last.content == null) return '';
  if (typeof last.content === 'string') return last.content;
  const texts: string[] = [];
  const attachments: string[] = [];
  let pendingImageName: string | null = null;
  for (const part of last.content) {
    if (part.type === 'text' && typeof part.text === 'string') {
      const file = FILE_HEADER.exec(part.text);
      const image = IMAGE_LABEL.exec(part.text);
      if (file) attachments.push(`${file[1]} (${typeOf(file[1])})`);
      else if (image) pendingImageName = image[1];
      else texts.push(part.text);
    } else if (part.type === 'image_url') {
      const url = (part as { image_url: { url: string } }).image_url.url;
      const mime = /^data:([^;,]+)/.exec(url)?.[1] ?? 'image';
      attachments.push(`${pendingImageName ?? 'image'} (${mime})`);
      pendingImageName = null;
    } else if (part.type === 'file') {
      const file = (part as { file: { filename?: string; file_id?: string } }).file;
      const name = file.filename ?? file.file_id ?? 'file';
      attachments.push(`${name} (${typeOf(name)})`);
    }
  }
  return [texts.join(' '), ...attachments.map((a) => `📎 ${a}`)].filter(Boolean).join('\n');
}

const TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  json: 'application/json',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
};

function typeOf(name: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  return (ext && TYPES[ext]) ?? 'file';
}

function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString('base64url')}`;
}
