import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { connectChatSocket, contentOf } from '../support/chat-socket-client.js';
import { useStandInApp } from '../support/stand-in-app.js';
import type { TestApp } from '../support/test-app.js';

/** What Node's own HTTP client got for one request: the answer, or the error it hit first. */
interface Outcome {
  status?: number;
  body?: string;
  error?: string;
}

// Node's http client, run in a thread of its own: in the server's thread it would write the whole
// body before the server could answer, which hides the race a separate client process meets.
const CLIENT = `
const { request } = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const { url, size, headers, times } = workerData;
function post() {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(size), ...headers } });
    let answered = false;
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => { answered = true; resolve({ status: res.statusCode, body }); });
      res.on('error', (err) => resolve({ status: res.statusCode, error: err.code || err.message }));
    });
    req.on('error', (err) => { if (!answered) resolve({ error: err.code || err.message }); });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });
}
(async () => {
  const outcomes = [];
  for (let i = 0; i < times; i++) outcomes.push(await post());
  parentPort.postMessage(outcomes);
})();
`;

/** POSTs `size` bytes `times` times in a row, one after the other, and says what each got. */
function postBodies(url: string, size: number, times: number, headers: Record<string, string> = {}): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CLIENT, { eval: true, workerData: { url, size, headers, times } });
    worker.once('message', (outcomes: Outcome[]) => {
      resolve(outcomes);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

/** A raw connection that sends headers promising `length` bytes, then trickles them. */
function trickle(
  t: TestApp,
  opts: { headersOnly?: boolean; length?: number; everyMs: number },
): { socket: Socket; ended: Promise<{ answer: string; ms: number }> } {
  const { port } = new URL(t.url);
  const socket = connect(Number(port), '127.0.0.1');
  const started = Date.now();
  let answer = '';
  socket.on('data', (c: Buffer) => (answer += c.toString()));
  socket.on('error', () => undefined);
  const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${t.adminKey}\r\ncontent-type: application/json\r\ncontent-length: ${opts.length ?? 1000}\r\n`;
  let timer: NodeJS.Timeout;
  if (opts.headersOnly) {
    // Slow headers: one header line now and then, never the blank line that ends them.
    let n = 0;
    socket.write(head);
    timer = setInterval(() => socket.writable && socket.write(`x-slow-${n++}: 1\r\n`), opts.everyMs);
  } else {
    socket.write(`${head}\r\n{`);
    timer = setInterval(() => socket.writable && socket.write(' '), opts.everyMs);
  }
  const ended = new Promise<{ answer: string; ms: number }>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ answer, ms: Date.now() - started });
    }),
  );
  return { socket, ended };
}

describe('HTTP connections: slow clients, early answers, long streams', () => {
  // A short request timeout, so that the bound shows within a test (production default: 30 s).
  const REQUEST_TIMEOUT_MS = 1_500;
  const stack = useStandInApp({ MAX_BODY_MB: '1', REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });

  it('answers 408 and closes connections whose body or headers trickle in too slowly', async () => {
    const slow = [...Array.from({ length: 4 }, () => trickle(stack.t, { everyMs: 300 })), trickle(stack.t, { headersOnly: true, everyMs: 300 })];
    const deadline = new Promise<'still open'>((r) => setTimeout(() => r('still open'), 10_000).unref());
    const results = await Promise.all(slow.map((s) => Promise.race([s.ended, deadline])));
    for (const s of slow) s.socket.destroy();
    for (const result of results) {
      expect(result).not.toBe('still open');
      const { answer, ms } = result as { answer: string; ms: number };
      // Within the timeout plus Node's check interval (lowered to 1 s) and some slack.
      expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 3_000);
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
        error: { message: expect.stringContaining('not received in time'), type: 'invalid_request_error', param: null, code: 'request_timeout' },
      });
    }
  });

  it('does not cut a streamed answer that lasts longer than the request timeout', async () => {
    stack.upstream.setDefault({ kind: 'reply', text: 'one two three four five six seven eight nine ten', chunkDelayMs: 300 });
    const started = Date.now();
    const res = await fetch(`${stack.t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.t.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'standin-gpt', stream: true, messages: [{ role: 'user', content: 'slowly' }] }),
    });
    const text = await res.text();
    expect(Date.now() - started).toBeGreaterThan(REQUEST_TIMEOUT_MS + 1_000);
    expect(text).toContain('ten');
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
  });

  it('keeps its upstream connection across streams whose body ends a moment after [DONE]', async () => {
    stack.upstream.setDefault({ kind: 'reply', text: 'short answer', endDelayMs: 30 });
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${stack.t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.t.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'standin-gpt', stream: true, messages: [{ role: 'user', content: `stream ${i}` }] }),
      });
      const text = await res.text();
      expect(text).toContain('"content":" answer"');
      expect(text.trim().endsWith('data: [DONE]')).toBe(true);
      await stack.upstream.idle();
    }
    // The pool's kept-alive connections (two: the next stream may start before the last one's end
    // was read), not new ones per stream (a stream aborted at [DONE] took its socket with it: 10).
    expect(stack.upstream.connectionsAccepted()).toBeLessThanOrEqual(2);
  });

  it('keeps a WebSocket open longer than the request timeout', async () => {
    const ws = await connectChatSocket(stack.t.url, { key: stack.t.adminKey });
    // Idle past the timeout and Node's check interval: a request timeout would have closed it.
    // (This wait is the duration under test, not a wait for something to happen.)
    let idled!: NodeJS.Timeout;
    const outlived = await Promise.race([
      ws.closed.then(() => false),
      new Promise<boolean>((r) => (idled = setTimeout(() => r(true), REQUEST_TIMEOUT_MS + 1_500))),
    ]);
    clearTimeout(idled);
    expect(outlived).toBe(true);
    stack.upstream.setDefault({ kind: 'reply', text: 'still here' });
    ws.send({ type: 'chat', id: 'late', model: 'standin-gpt', messages: [{ role: 'user', content: 'hi' }] });
    expect(contentOf(await ws.nextTurn())).toBe('still here');
    ws.socket.close();
    await ws.closed;
  });

  it('lets every client read the 413 for a body far over the limit (30 in a row)', async () => {
    const outcomes = await postBodies(`${stack.t.url}/v1/chat/completions`, 6 * 1024 * 1024, 30, { authorization: `Bearer ${stack.t.adminKey}` });
    expect(outcomes.filter((o) => o.status !== 413)).toEqual([]);
    for (const o of outcomes) {
      expect(JSON.parse(o.body!)).toEqual({
        error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'request_too_large' },
      });
    }
  });

  it('lets the client read a 415 answered before a big body was read', async () => {
    const outcomes = await postBodies(`${stack.t.url}/v1/chat/completions`, 4 * 1024 * 1024, 20, {
      'content-type': 'application/x-unknown',
      authorization: `Bearer ${stack.t.adminKey}`,
    });
    expect(outcomes.filter((o) => o.status !== 415)).toEqual([]);
    expect(JSON.parse(outcomes[0].body!).error.code).toBe('unsupported_media_type');
  });
});
