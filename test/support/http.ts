/** A small JSON client over real HTTP for the e2e suites. */
export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  key?: string | null;
  headers?: Record<string, string>;
  /** Sent as JSON unless a string or FormData is given. */
  body?: unknown;
}

export function client(baseUrl: string, defaultKey?: string) {
  async function call<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<HttpResult<T>> {
    const key = options.key === undefined ? defaultKey : options.key;
    const headers: Record<string, string> = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...options.headers };
    let body: string | FormData | undefined;
    if (options.body instanceof FormData || typeof options.body === 'string') {
      body = options.body;
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: leave the text.
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }
  return {
    get: <T = any>(path: string, o?: RequestOptions) => call<T>('GET', path, o),
    post: <T = any>(path: string, body?: unknown, o?: RequestOptions) => call<T>('POST', path, { ...o, body }),
    patch: <T = any>(path: string, body?: unknown, o?: RequestOptions) => call<T>('PATCH', path, { ...o, body }),
    delete: <T = any>(path: string, o?: RequestOptions) => call<T>('DELETE', path, o),
    call,
  };
}

/** Asserts OpenAI's error envelope and returns the error object. */
export function expectError(result: HttpResult, status: number, code?: string | null) {
  expect({ status: result.status, body: result.body }).toMatchObject({
    status,
    body: { error: { message: expect.any(String), type: expect.any(String) } },
  });
  expect(result.body.error).toHaveProperty('param');
  expect(result.body.error).toHaveProperty('code');
  if (code !== undefined) expect(result.body.error.code).toBe(code);
  expect(result.headers.get('x-request-id')).toBeTruthy();
  return result.body.error as { message: string; type: string; param: string | null; code: string | null };
}

/** One Server-Sent Events frame: its raw text and its data (`'[DONE]'` for the end marker). */
export interface SseFrame {
  raw: string;
  data: any;
}

/** POSTs with `stream: true` and reads the whole SSE response into frames. */
export async function postSse(url: string, key: string | null, path: string, body: object) {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const text = await res.text();
  const frames: SseFrame[] = text
    .split('\n\n')
    .filter((f) => f.startsWith('data: '))
    .map((f) => ({ raw: f, data: f === 'data: [DONE]' ? '[DONE]' : JSON.parse(f.slice(6)) }));
  return { res, frames };
}
