import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';

/**
 * The transport the openai SDK reaches upstreams with. The SDK accepts any `fetch`; Node's own
 * is built on WHATWG streams and measured at several times the CPU of undici's `request` per
 * call, on the hot path of every chat request. This adapter gives the SDK what it reads from a
 * response (status, headers, an async-iterable body, text()) on top of `undici.request`.
 *
 * Timeouts are the gateway's (UPSTREAM_TIMEOUT_MS, UPSTREAM_IDLE_TIMEOUT_MS), so undici's own
 * header and body timeouts are off.
 */
const agent = new Agent({ keepAliveTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0, connections: 512 });

/**
 * A JSON POST on the same pool, without the fetch emulation: the chat hot path's transport
 * (measured at a fraction of the SDK's per-call cost). The caller reads (or destroys) the body.
 */
export function upstreamPost(url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  return request(url, { method: 'POST', headers, body, signal, dispatcher: agent });
}

export const upstreamFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const res = await request(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: plainHeaders(init.headers),
    body: init.body as string | Buffer | undefined,
    signal: init.signal ?? undefined,
    dispatcher: agent,
  });
  return new UpstreamResponse(url, res.statusCode, res.headers, res.body) as unknown as Response;
};

class UpstreamResponse {
  readonly ok: boolean;
  readonly headers: ResponseHeaders;

  constructor(
    readonly url: string,
    readonly status: number,
    raw: Record<string, string | string[] | undefined>,
    readonly body: Readable & { text(): Promise<string>; json(): Promise<unknown>; arrayBuffer(): Promise<ArrayBuffer> },
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = new ResponseHeaders(raw);
  }

  get statusText(): string {
    return '';
  }

  text(): Promise<string> {
    return this.body.text();
  }

  json(): Promise<unknown> {
    return this.body.json();
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.body.arrayBuffer();
  }
}

/** The read side of WHATWG Headers, over undici's lower-cased header object. */
class ResponseHeaders {
  constructor(private readonly raw: Record<string, string | string[] | undefined>) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }

  *entries(): IterableIterator<[string, string]> {
    for (const [name, value] of Object.entries(this.raw)) {
      if (value !== undefined) yield [name, Array.isArray(value) ? value.join(', ') : value];
    }
  }

  forEach(fn: (value: string, name: string) => void): void {
    for (const [name, value] of this.entries()) fn(value, name);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

function plainHeaders(headers: RequestInit['headers']): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers) as Record<string, string>;
  return headers as Record<string, string>;
}
