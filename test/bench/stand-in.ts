import { createServer, type AddressInfo, type Socket } from 'node:net';
import { estimateUsage, lastUserText, startStandInUpstream } from '../support/stand-in-upstream.js';
import { STREAM_CONTENT_CHUNKS } from './report.js';

/**
 * The benchmark's upstream, run as its own process (pinned to core 1 by run.ts). It speaks
 * OpenAI's wire format like test/support/stand-in-upstream.ts (same reply text and usage
 * estimate: "Stand-in reply to: <last user text>"), but renders each distinct request body once
 * and then replays the bytes, so that it costs as little CPU as possible and never becomes the
 * bottleneck. Streams: a role chunk, 20 content chunks (the reply's words spread evenly over them),
 * a finish chunk, a usage chunk when `stream_options.include_usage` is true, then `data: [DONE]`;
 * each frame is its own HTTP chunk, all sent at once (no delay between chunks: the upstream is as
 * fast as it gets).
 *
 * BENCH_STANDIN=support uses the tests' stand-in instead (slower, for cross-checking; 2 words per
 * chunk, which is 21 content chunks with the bench's prompt).
 * Prints `LISTENING <port>` on stdout once ready.
 */

interface Rendered {
  stream: boolean;
  /** Non-streaming: the JSON body. Streaming: the SSE frames, in order. */
  parts: Buffer[];
}

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
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
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
  for (const piece of split(text, STREAM_CONTENT_CHUNKS)) frames.push(chunk({ content: piece }, null));
  frames.push(chunk({}, 'stop'));
  if (includeUsage) frames.push({ ...chunk({}, null), choices: [], usage });
  const parts = frames.map((f) => Buffer.from(`data: ${JSON.stringify(f)}\n\n`));
  parts.push(Buffer.from('data: [DONE]\n\n'));
  return { stream, parts };
}

/** `text` in `n` non-empty pieces, cut between words (between characters when it has fewer than `n` words). */
function split(text: string, n: number): string[] {
  const words = text.split(' ');
  if (words.length < n) {
    const size = Math.ceil(text.length / n);
    return Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));
  }
  return Array.from(
    { length: n },
    (_, i) => (i ? ' ' : '') + words.slice(Math.floor((i * words.length) / n), Math.floor(((i + 1) * words.length) / n)).join(' '),
  );
}

// The stand-in speaks HTTP/1.1 straight on the socket (keep-alive, Content-Length or chunked
// request bodies): node:http costs about as much CPU per request as the baseline proxy itself,
// and the stand-in shares core 1 with the load generator.

const NOT_FOUND = response(
  404,
  'application/json',
  JSON.stringify({ error: { message: 'no route', type: 'invalid_request_error', param: null, code: null } }),
);
const BAD_BODY = response(
  400,
  'application/json',
  JSON.stringify({ error: { message: 'bad body', type: 'invalid_request_error', param: null, code: null } }),
);

function response(status: number, type: string, body: string | Buffer): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const reason = status === 200 ? 'OK' : status === 404 ? 'Not Found' : 'Bad Request';
  return Buffer.concat([
    Buffer.from(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: ${type}\r\ncontent-length: ${bytes.length}\r\nconnection: keep-alive\r\nkeep-alive: timeout=120\r\n\r\n`,
    ),
    bytes,
  ]);
}

/** A streamed answer: chunked transfer encoding, one HTTP chunk per SSE frame. */
function sseResponse(frames: Buffer[]): Buffer {
  const parts: Buffer[] = [
    Buffer.from(
      'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: keep-alive\r\nkeep-alive: timeout=120\r\ntransfer-encoding: chunked\r\n\r\n',
    ),
  ];
  for (const frame of frames) parts.push(Buffer.from(`${frame.length.toString(16)}\r\n`), frame, Buffer.from('\r\n'));
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

const wire = new Map<string, Buffer>();

function answer(path: string, method: string, raw: string): Buffer {
  if (method !== 'POST' || !path.split('?')[0].endsWith('/chat/completions')) return NOT_FOUND;
  let bytes = wire.get(raw);
  if (bytes) return bytes;
  const rendered = render(raw);
  if (!rendered) return BAD_BODY;
  bytes = rendered.stream ? sseResponse(rendered.parts) : response(200, 'application/json', rendered.parts[0]);
  // Bodies that differ on every request (none in the benchmark) would just be rendered each time.
  if (wire.size >= 1000) wire.clear();
  wire.set(raw, bytes);
  return bytes;
}

/** Decodes a complete chunked body starting at `at`; null until the last chunk has arrived. */
function dechunk(buf: Buffer, at: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let i = at;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', i);
    if (lineEnd < 0) return null;
    const size = parseInt(buf.toString('latin1', i, lineEnd).split(';')[0], 16);
    if (!Number.isFinite(size)) throw new Error('bad chunk size');
    if (size === 0) {
      const end = buf.indexOf('\r\n\r\n', lineEnd);
      if (end < 0 && buf.length < lineEnd + 4) return null;
      return { body: Buffer.concat(parts), end: end < 0 ? lineEnd + 4 : end + 4 };
    }
    if (buf.length < lineEnd + 2 + size + 2) return null;
    parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    i = lineEnd + 2 + size + 2;
  }
}

function onConnection(socket: Socket): void {
  socket.setNoDelay(true);
  let pending: Buffer | null = null;
  socket.on('error', () => socket.destroy());
  socket.on('data', (data: Buffer) => {
    let buf: Buffer = pending ? Buffer.concat([pending, data]) : data;
    pending = null;
    try {
      while (buf.length) {
        const headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd < 0) break;
        const head = buf.toString('latin1', 0, headEnd);
        const nl = head.indexOf('\r\n');
        const firstLine = nl < 0 ? head : head.slice(0, nl);
        const [method, path] = firstLine.split(' ');
        const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
        let body: Buffer;
        let end: number;
        if (/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) {
          const chunked = dechunk(buf, headEnd + 4);
          if (!chunked) break;
          ({ body, end } = chunked);
        } else {
          const n = length ? Number(length[1]) : 0;
          if (buf.length < headEnd + 4 + n) break;
          body = buf.subarray(headEnd + 4, headEnd + 4 + n);
          end = headEnd + 4 + n;
        }
        socket.write(answer(path ?? '/', method ?? 'GET', body.toString('utf8')));
        if (/\r\nconnection:[ \t]*close/i.test(head)) {
          socket.end();
          return;
        }
        buf = buf.subarray(end);
      }
    } catch {
      socket.destroy();
      return;
    }
    if (buf.length) pending = Buffer.from(buf);
  });
}

async function main(): Promise<void> {
  if (process.env.BENCH_STANDIN === 'support') {
    const upstream = await startStandInUpstream({ record: false, wordsPerChunk: 2 });
    process.stdout.write(`LISTENING ${new URL(upstream.baseUrl).port}\n`);
    return;
  }
  const server = createServer(onConnection);
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
  });
}

process.on('SIGTERM', () => process.exit(0));
void main();
