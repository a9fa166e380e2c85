import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A stand-in for an OpenAI-compatible upstream, speaking the real wire format over real HTTP
 * (JSON and SSE). Tests script what it does next; the benchmark uses its fast default.
 */

export interface StandInUsage {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
  reasoning_tokens?: number;
}

export type Behavior =
  /** Answers with `text` (default: "Stand-in reply to: <last user text>"). */
  | {
      kind: 'reply';
      text?: string;
      /** null: the stream carries no usage even when asked (some upstreams do that). */
      usage?: StandInUsage | null;
      /** Sent as the usage object exactly as given (a hostile or broken upstream). */
      rawUsage?: unknown;
      delayMs?: number;
      /** Answers only once this settles (a test releases a request it holds in flight). */
      until?: Promise<unknown>;
      /** Pause between streamed chunks. */
      chunkDelayMs?: number;
      /** Streams: pause between `data: [DONE]` and the end of the body (as TLS upstreams often send them apart). */
      endDelayMs?: number;
      finishReason?: string;
    }
  /** Answers with one tool call, or with `calls` (several, in one answer), optionally after some `text`. */
  | { kind: 'tool_call'; name?: string; arguments?: string; calls?: Array<{ name: string; arguments: string }>; text?: string; usage?: StandInUsage }
  /** An HTTP error with OpenAI's envelope unless `body` is given. */
  | { kind: 'error'; status: number; message?: string; code?: string; headers?: Record<string, string>; body?: string }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** Closes the connection without answering. */
  | { kind: 'drop' }
  /** Streams `afterChunks` content chunks, then cuts the connection. */
  | { kind: 'break'; afterChunks: number; text?: string }
  /** Streams `afterChunks` chunks, then goes silent without closing. */
  | { kind: 'stall'; afterChunks: number; text?: string }
  /** Streams `afterChunks` chunks, then ends the response cleanly: no finish_reason, no [DONE]. */
  | { kind: 'truncate'; afterChunks: number; text?: string }
  /** 200 with a body that is not a chat completion. */
  | { kind: 'garbage' }
  /**
   * Streams `afterChunks` content chunks (0: none, not even the role chunk), then one `data:` frame
   * that is an error object (`{"error": …}`, as OpenAI and OpenRouter send mid-stream) or, with
   * `raw`, exactly that text (a malformed chunk); then ends the stream normally.
   */
  | { kind: 'stream_error'; afterChunks: number; error?: Record<string, unknown>; raw?: string };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | null;
}

export interface StandInUpstream {
  /** Base URL including /v1, as given to a provider's base_url. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Scripts the next requests, in order; afterwards the default reply resumes. */
  script(...behaviors: Behavior[]): void;
  /** Replaces the default behaviour (used when the script is empty). */
  setDefault(behavior: Behavior): void;
  /** Requests currently open (hanging or streaming). */
  openConnections(): number;
  /** TCP connections accepted since the start (or the last reset). */
  connectionsAccepted(): number;
  /** Resolves with the next request to arrive (call it before sending the request). */
  nextRequest(): Promise<RecordedRequest>;
  /** Resolves once no request is open: at once if none is, else when the last one closes. */
  idle(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export interface StandInOptions {
  /** Do not keep request bodies (the benchmark sends many). */
  record?: boolean;
  /** Words of the default reply are streamed in chunks of this many words. */
  wordsPerChunk?: number;
}

export async function startStandInUpstream(options: StandInOptions = {}): Promise<StandInUpstream> {
  const record = options.record ?? true;
  const requests: RecordedRequest[] = [];
  const queue: Behavior[] = [];
  let fallback: Behavior = { kind: 'reply' };
  const sockets = new Set<Socket>();
  let open = 0;
  let arrivals: Array<(request: RecordedRequest) => void> = [];
  let idlers: Array<() => void> = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | null;
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
      } catch {
        body = null;
      }
      const path = (req.url ?? '/').split('?')[0];
      const recorded = { method: req.method ?? 'GET', path, headers: req.headers, body };
      if (record) requests.push(recorded);
      open++;
      res.on('close', () => {
        if (--open > 0) return;
        const waiting = idlers;
        idlers = [];
        for (const resolve of waiting) resolve();
      });
      const waiting = arrivals;
      arrivals = [];
      for (const resolve of waiting) resolve(recorded);
      route(req, res, path, body);
    });
  });
  let accepted = 0;
  server.on('connection', (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  function route(req: IncomingMessage, res: ServerResponse, path: string, body: Record<string, unknown> | null): void {
    if (req.method === 'GET' && path.endsWith('/models')) {
      return json(res, 200, { object: 'list', data: [{ id: 'stand-in', object: 'model', created: 0, owned_by: 'stand-in' }] });
    }
    const other =
      req.method === 'POST' && path.endsWith('/embeddings')
        ? embeddings
        : req.method === 'POST' && path.endsWith('/images/generations')
          ? images
          : null;
    if (other) {
      // Scripted failures (error, drop, hang, garbage) apply to embeddings and images too.
      const behavior = queue.shift() ?? fallback;
      return behavior.kind === 'reply' ? other(res, body ?? {}) : void respond(res, body ?? {}, behavior);
    }
    if (req.method !== 'POST' || !path.endsWith('/chat/completions') || !body) {
      return json(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: null } });
    }
    const behavior = queue.shift() ?? fallback;
    void respond(res, body, behavior);
  }

  async function respond(res: ServerResponse, body: Record<string, unknown>, behavior: Behavior): Promise<void> {
    const stream = body.stream === true;
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const model = String(body.model ?? 'stand-in');
    switch (behavior.kind) {
      case 'hang':
        return;
      case 'drop':
        res.socket?.destroy();
        return;
      case 'garbage':
        return json(res, 200, { hello: 'world' });
      case 'error':
        if (behavior.body !== undefined) {
          res.writeHead(behavior.status, { 'content-type': 'application/json', ...behavior.headers });
          res.end(behavior.body);
          return;
        }
        res.writeHead(behavior.status, { 'content-type': 'application/json', ...behavior.headers });
        res.end(
          JSON.stringify({
            error: {
              message: behavior.message ?? `stand-in error ${behavior.status}`,
              type: behavior.status === 429 ? 'requests' : 'invalid_request_error',
              param: null,
              code: behavior.code ?? null,
            },
          }),
        );
        return;
      case 'tool_call':
        return toolCall(res, model, stream, includeUsage, behavior);
      case 'break':
      case 'stall':
      case 'truncate': {
        const text = behavior.text ?? 'one two three four five six seven eight nine ten';
        const words = text.split(' ');
        const id = completionId();
        sseHead(res);
        sse(res, chunk(id, model, { role: 'assistant', content: '' }, null));
        for (let i = 0; i < behavior.afterChunks && i < words.length; i++) {
          sse(res, chunk(id, model, { content: (i ? ' ' : '') + words[i] }, null));
          await sleep(5);
        }
        if (behavior.kind === 'break') res.socket?.destroy();
        if (behavior.kind === 'truncate') res.end();
        return;
      }
      case 'stream_error': {
        const id = completionId();
        sseHead(res);
        if (behavior.afterChunks > 0) sse(res, chunk(id, model, { role: 'assistant', content: '' }, null));
        for (let i = 0; i < behavior.afterChunks; i++) sse(res, chunk(id, model, { content: `${i ? ' ' : ''}w${i}` }, null));
        if (behavior.raw !== undefined) res.write(`data: ${behavior.raw}\n\n`);
        else sse(res, { error: behavior.error ?? { message: 'stand-in stream error', type: 'server_error', code: null } });
        res.end('data: [DONE]\n\n');
        return;
      }
      case 'reply': {
        if (behavior.delayMs) await sleep(behavior.delayMs);
        if (behavior.until) await behavior.until;
        if (res.destroyed) return;
        const text = behavior.text ?? `Stand-in reply to: ${lastUserText(body)}`;
        // n choices, each the same text (and billed as such).
        const n = typeof body.n === 'number' && body.n > 1 ? Math.floor(body.n) : 1;
        const billed = behavior.usage === undefined ? estimateUsage(body, text) : behavior.usage;
        const usage = billed ? { ...billed, completion_tokens: billed.completion_tokens * n } : billed;
        const usageField = behavior.rawUsage !== undefined ? behavior.rawUsage : usage ? usageBody(usage) : undefined;
        if (!stream) {
          const answer = completion(
            model,
            text,
            usage ?? { ...estimateUsage(body, text), completion_tokens: estimateUsage(body, text).completion_tokens * n },
            behavior.finishReason,
          );
          answer.choices = Array.from({ length: n }, (_, index) => ({ ...answer.choices[0], index }));
          if (behavior.rawUsage !== undefined) (answer as Record<string, unknown>).usage = behavior.rawUsage;
          return json(res, 200, answer);
        }
        const id = completionId();
        sseHead(res);
        const words = text.split(' ');
        const per = options.wordsPerChunk ?? 1;
        for (let index = 0; index < n; index++) {
          sse(res, chunk(id, model, { role: 'assistant', content: '' }, null, index));
          for (let i = 0; i < words.length; i += per) {
            if (behavior.chunkDelayMs) await sleep(behavior.chunkDelayMs);
            if (res.destroyed) return;
            sse(res, chunk(id, model, { content: (i ? ' ' : '') + words.slice(i, i + per).join(' ') }, null, index));
          }
          sse(res, chunk(id, model, {}, behavior.finishReason ?? 'stop', index));
        }
        if (includeUsage && usageField !== undefined && usageField !== null)
          sse(res, { ...chunk(id, model, {}, null), choices: [], usage: usageField });
        if (behavior.endDelayMs) {
          res.write('data: [DONE]\n\n');
          await sleep(behavior.endDelayMs);
          res.end();
        } else res.end('data: [DONE]\n\n');
        return;
      }
    }
  }

  function toolCall(
    res: ServerResponse,
    model: string,
    stream: boolean,
    includeUsage: boolean,
    behavior: Extract<Behavior, { kind: 'tool_call' }>,
  ): void {
    const usage = behavior.usage ?? { prompt_tokens: 20, completion_tokens: 10 };
    const asked = behavior.calls ?? [{ name: behavior.name ?? 'tool', arguments: behavior.arguments ?? '{}' }];
    const calls = asked.map((c) => ({
      id: `call_${randomBytes(6).toString('hex')}`,
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    }));
    const text = behavior.text ?? null;
    if (!stream) {
      const body = completion(model, text, usage, 'tool_calls');
      body.choices[0].message.tool_calls = calls;
      return json(res, 200, body);
    }
    const id = completionId();
    sseHead(res);
    sse(res, chunk(id, model, { role: 'assistant', content: text ?? null }, null));
    calls.forEach((call, index) => {
      sse(res, chunk(id, model, { tool_calls: [{ index, ...call, function: { name: call.function.name, arguments: '' } }] }, null));
      sse(res, chunk(id, model, { tool_calls: [{ index, function: { arguments: call.function.arguments } }] }, null));
    });
    sse(res, chunk(id, model, {}, 'tool_calls'));
    if (includeUsage) sse(res, { ...chunk(id, model, {}, null), choices: [], usage: usageBody(usage) });
    res.end('data: [DONE]\n\n');
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...behaviors) => void queue.push(...behaviors),
    setDefault: (behavior) => void (fallback = behavior),
    openConnections: () => open,
    connectionsAccepted: () => accepted,
    nextRequest: () => new Promise((resolve) => arrivals.push(resolve)),
    idle: () => (open === 0 ? Promise.resolve() : new Promise((resolve) => idlers.push(resolve))),
    reset: () => {
      requests.length = 0;
      queue.length = 0;
      accepted = 0;
      fallback = { kind: 'reply' };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function completionId(): string {
  return `chatcmpl-standin${randomBytes(6).toString('hex')}`;
}

function completion(model: string, text: string | null, usage: StandInUsage, finishReason = 'stop') {
  return {
    id: completionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: 'fp_standin',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null, annotations: [] } as Record<string, unknown>,
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage: usageBody(usage),
  };
}

function chunk(id: string, model: string, delta: Record<string, unknown>, finishReason: string | null, index = 0) {
  return {
    id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: 'fp_standin',
    choices: [{ index, delta, logprobs: null, finish_reason: finishReason }],
  };
}

function usageBody(u: StandInUsage) {
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.prompt_tokens + u.completion_tokens,
    prompt_tokens_details: { cached_tokens: u.cached_tokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoning_tokens ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/**
 * What the stand-in bills, deterministic and roughly as a provider would, so tests can tell a
 * document reached the prompt: the messages' JSON at four characters a token, except that an
 * image costs 765 tokens (85 at low detail), audio 10 tokens a second (taken as 16 kHz 16-bit
 * mono, 32,000 bytes a second) and an inline PDF 1,000 tokens a page, whatever their size in base64.
 */
export function estimateUsage(body: Record<string, unknown>, text: string): StandInUsage {
  let parts = 0;
  const messages = ((body.messages ?? []) as Array<{ content?: unknown }>).map((m) => {
    if (!Array.isArray(m.content)) return m;
    return {
      ...m,
      content: m.content.map((p: Record<string, any>) => {
        if (p.type === 'image_url') parts += p.image_url?.detail === 'low' ? 85 : 765;
        else if (p.type === 'input_audio') parts += Math.ceil(base64Length(p.input_audio?.data ?? '') / 3_200);
        else if (p.type === 'file' && p.file?.file_data) parts += pdfPages(String(p.file.file_data)) * 1_000;
        else return p;
        return { type: p.type };
      }),
    };
  });
  return {
    prompt_tokens: Math.ceil(JSON.stringify(messages).length / 4) + parts,
    completion_tokens: text.split(' ').length,
  };
}

function base64Length(b64: string): number {
  return Math.floor((b64.replace(/^data:[^,]*,/, '').length * 3) / 4);
}

/** Page objects in a PDF (as test fixtures write them), read from its base64 or data URL. */
function pdfPages(data: string): number {
  const bytes = Buffer.from(data.replace(/^data:[^,]*,/, ''), 'base64').toString('latin1');
  return (bytes.match(/\/Type\s*\/Page(?!s)/g) ?? []).length;
}

export function lastUserText(body: Record<string, unknown>): string {
  const messages = (body.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = [...messages].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  if (Array.isArray(last.content)) {
    return last.content
      .filter((p: { type?: string }) => p.type === 'text')
      .map((p: { text?: string }) => p.text ?? '')
      .join(' ');
  }
  return '';
}

function embeddings(res: ServerResponse, body: Record<string, unknown>): void {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const data = inputs.map((input, index) => {
    const vector = Array.from({ length: 8 }, (_, i) => ((String(input).length + i) % 7) / 7);
    const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { object: 'embedding', index, embedding };
  });
  const tokens = inputs.reduce((n: number, i) => n + Math.ceil(String(i).length / 4), 0);
  json(res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

/** A 1×1 PNG, as base64. */
export const STAND_IN_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';

/** gpt-image-like models (upstream id starting gpt-image) count tokens; others are priced per image. */
function images(res: ServerResponse, body: Record<string, unknown>): void {
  const n = Number(body.n ?? 1);
  const tokenPriced = String(body.model).startsWith('gpt-image');
  const data = Array.from({ length: n }, (_, i) =>
    body.response_format === 'url'
      ? { url: `https://stand-in.example/images/${i}.png` }
      : { b64_json: STAND_IN_PNG, revised_prompt: String(body.prompt) },
  );
  const input = Math.ceil(String(body.prompt ?? '').length / 4);
  json(res, 200, {
    created: Math.floor(Date.now() / 1000),
    data,
    ...(tokenPriced ? { usage: { input_tokens: input, output_tokens: 100 * n, total_tokens: input + 100 * n } } : {}),
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
}

function sse(res: ServerResponse, data: unknown): void {
  if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
