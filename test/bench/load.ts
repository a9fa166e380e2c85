import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/**
 * Closed-loop load: `concurrency` clients on as many keep-alive connections, each sending its
 * next request as soon as the previous answer has been read to the end. Requests completing
 * inside the measure window (after the warm-up) are recorded; `onWindow` brackets that window
 * so the caller can read CPU counters exactly at its edges.
 */

export interface LoadOptions {
  origin: string;
  path: string;
  /** Request headers, the same for every client or per client (client 0…concurrency−1: one API key each, say). */
  headers: Record<string, string> | ((client: number) => Record<string, string>);
  body: string;
  stream: boolean;
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

export interface LoadResult {
  /** Requests completed (successfully or not) inside the window. */
  requests: number;
  ok: number;
  errors: number;
  /** Errors seen during the warm-up (reported too: any error fails the scenario). */
  warmupErrors: number;
  errorSamples: string[];
  windowMs: number;
  rps: number;
  latencyMs: Float64Array;
  /** Time to the first body chunk carrying a `data:` frame with content (streams only). */
  ttfcMs: Float64Array;
}

// A content delta with at least one character: `"content":"x`. The role chunk ("content":"") does not match.
const CONTENT_RE = /"content":"[^"]/;

class Samples {
  private data = new Float64Array(1 << 14);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  values(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(opts.origin, {
    connections: opts.concurrency,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const headers = Array.from({ length: opts.concurrency }, (_, i) => ({
    'content-type': 'application/json',
    ...(typeof opts.headers === 'function' ? opts.headers(i) : opts.headers),
  }));
  // `#N#` in the body is replaced by a per-request counter (see run.ts).
  const [bodyHead, bodyTail] = opts.body.includes('#N#') ? opts.body.split('#N#') : [opts.body, null];
  let sequence = 0;
  const nextBody = (): Buffer | string => (bodyTail === null ? bodyHead : `${bodyHead}${++sequence}${bodyTail}`);
  const latency = new Samples();
  const ttfc = new Samples();
  const errorSamples: string[] = [];
  let measuring = false;
  let stopping = false;
  let requests = 0;
  let ok = 0;
  let errors = 0;
  let warmupErrors = 0;

  const fail = (why: string): void => {
    if (measuring) errors++;
    else warmupErrors++;
    if (errorSamples.length < 5) errorSamples.push(why);
  };

  // The low-level dispatch API: no Readable stream or promise per chunk, so the load side stays cheap.
  function exchange(client: number): Promise<{ status: number; first: number; ok: boolean; why: string }> {
    return new Promise((done) => {
      const t0 = performance.now();
      let status = 0;
      let first = -1;
      let tail = '';
      let text = '';
      pool.dispatch(
        { method: 'POST', path: opts.path, headers: headers[client], body: nextBody() },
        {
          // (undici recognises the new handler API by onRequestStart)
          onRequestStart() {},
          onResponseStart(_controller, statusCode) {
            status = statusCode;
          },
          onResponseData(_controller, chunk: Buffer) {
            const s = chunk.toString('latin1');
            if (opts.stream && status === 200) {
              if (first < 0 && CONTENT_RE.test(s)) first = performance.now() - t0;
              tail = (tail + s).slice(-64);
            } else if (text.length < 65536) {
              text += s;
            }
          },
          onResponseEnd() {
            if (opts.stream && status === 200) {
              const ok = tail.includes('data: [DONE]') && first >= 0;
              done({ status, first, ok, why: ok ? '' : first < 0 ? 'no content chunk' : `no [DONE] at the end: ${JSON.stringify(tail)}` });
            } else {
              const ok = status === 200 && !opts.stream && text.includes('"choices"');
              done({ status, first, ok, why: ok ? '' : `HTTP ${status}: ${text.slice(0, 300)}` });
            }
          },
          onResponseError(_controller, err: Error) {
            done({ status, first, ok: false, why: `request failed: ${err.message}` });
          },
        },
      );
    });
  }

  async function one(client: number): Promise<void> {
    const t0 = performance.now();
    const { first, ok: good, why } = await exchange(client);
    const elapsed = performance.now() - t0;
    if (!measuring || stopping) {
      if (!good) fail(why);
      return;
    }
    requests++;
    if (!good) return fail(why);
    ok++;
    latency.push(elapsed);
    if (opts.stream) ttfc.push(first);
  }

  async function client(index: number): Promise<void> {
    while (!stopping) await one(index);
  }

  const clients = Array.from({ length: opts.concurrency }, (_, i) => client(i));
  await sleep(opts.warmupMs);
  opts.onWindowStart?.();
  const start = performance.now();
  measuring = true;
  await sleep(opts.measureMs);
  stopping = true;
  const windowMs = performance.now() - start;
  opts.onWindowEnd?.();
  await Promise.all(clients);
  await pool.close();

  return {
    requests,
    ok,
    errors,
    warmupErrors,
    errorSamples,
    windowMs,
    rps: (ok * 1000) / windowMs,
    latencyMs: latency.values(),
    ttfcMs: ttfc.values(),
  };
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
