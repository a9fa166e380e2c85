import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { estimateUsage, lastUserText, startStandInUpstream } from '../support/stand-in-upstream.js';

/**
 * The benchmark's upstream, run as its own process (pinned to core 1 by run.ts). It speaks
 * OpenAI's wire format like test/support/stand-in-upstream.ts (same reply text and usage
 * estimate: "Stand-in reply to: <last user text>"), but renders each distinct request body once
 * and then replays the bytes, so that it costs as little CPU as possible and never becomes the
 * bottleneck. Streams: a role chunk, ~9 content chunks of 4 words, a finish chunk, a usage chunk
 * when `stream_options.include_usage` is true, then `data: [DONE]`; each frame is its own write.
 *
 * BENCH_STANDIN=support uses the tests' stand-in instead (slower, for cross-checking).
 * Prints `LISTENING <port>` on stdout once ready.
 */

const WORDS_PER_CHUNK = 4;

interface Rendered {
  stream: boolean;
  /** Non-streaming: the JSON body. Streaming: the SSE frames, in order. */
  parts: Buffer[];
}

const cache = new Map<string, Rendered>();
let seq = 0;

function render(raw: string): Rendered | null {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!body || typeof body !== 'object' || !Array.isArray(body.messages)) return null;
  const stream = body.stream === true;
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const model = String(body.model ?? 'stand-in');
  const text = `Stand-in reply to: ${lastUserText(body)}`;
  const u = estimateUsage(body, text);
  const usage = {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.prompt_tokens + u.completion_tokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  const id = `chatcmpl-benchstandin${(seq++).toString(16).padStart(8, '0')}`;
  const created = Math.floor(Date.now() / 1000);
  if (!stream) {
    const completion = {
      id,
      object: 'chat.completion',
      created,
      model,
      system_fingerprint: 'fp_standin',
      choices: [
        { index: 0, message: { role: 'assistant', content: text, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' },
      ],
      usage,
    };
    return { stream, parts: [Buffer.from(JSON.stringify(completion))] };
  }
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    system_fingerprint: 'fp_standin',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const frames: unknown[] = [chunk({ role: 'assistant', content: '' }, null)];
  const words = text.split(' ');
  for (let i = 0; i < words.length; i += WORDS_PER_CHUNK) {
    frames.push(chunk({ content: (i ? ' ' : '') + words.slice(i, i + WORDS_PER_CHUNK).join(' ') }, null));
  }
  frames.push(chunk({}, 'stop'));
  if (includeUsage) frames.push({ ...chunk({}, null), choices: [], usage });
  const parts = frames.map((f) => Buffer.from(`data: ${JSON.stringify(f)}\n\n`));
  parts.push(Buffer.from('data: [DONE]\n\n'));
  return { stream, parts };
}

const JSON_HEAD = { 'content-type': 'application/json' };
const SSE_HEAD = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' };
const NOT_FOUND = JSON.stringify({ error: { message: 'no route', type: 'invalid_request_error', param: null, code: null } });

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { ...JSON_HEAD, 'content-length': Buffer.byteLength(NOT_FOUND) });
      res.end(NOT_FOUND);
      return;
    }
    const raw = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
    let rendered = cache.get(raw);
    if (!rendered) {
      const fresh = render(raw);
      if (!fresh) {
        const msg = JSON.stringify({ error: { message: 'bad body', type: 'invalid_request_error', param: null, code: null } });
        res.writeHead(400, { ...JSON_HEAD, 'content-length': Buffer.byteLength(msg) });
        res.end(msg);
        return;
      }
      // Bodies that differ on every request (none in the benchmark) would just be re-rendered.
      if (cache.size >= 1000) cache.clear();
      cache.set(raw, fresh);
      rendered = fresh;
    }
    if (!rendered.stream) {
      const body = rendered.parts[0];
      res.writeHead(200, { ...JSON_HEAD, 'content-length': body.length });
      res.end(body);
      return;
    }
    res.writeHead(200, SSE_HEAD);
    const last = rendered.parts.length - 1;
    for (let i = 0; i < last; i++) res.write(rendered.parts[i]);
    res.end(rendered.parts[last]);
  });
}

async function main(): Promise<void> {
  if (process.env.BENCH_STANDIN === 'support') {
    const upstream = await startStandInUpstream({ record: false, wordsPerChunk: WORDS_PER_CHUNK });
    process.stdout.write(`LISTENING ${new URL(upstream.baseUrl).port}\n`);
    return;
  }
  const server = createServer({ keepAliveTimeout: 120_000 }, handle);
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
  });
}

process.on('SIGTERM', () => process.exit(0));
void main();
