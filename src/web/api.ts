// The UI's only way to the server: the public API, with the session cookie the sign-in set, and the
// CSRF token it answered on every request that changes something.

/** The signed-in user, as GET /me shows it. */
export interface Me {
  id: string;
  name: string;
  email?: string | null;
  role: 'admin' | 'user';
}

export interface ApiErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: ApiErrorBody,
  ) {
    super(error.message);
  }
}

const CSRF_KEY = 'colloquy.csrf';
const signedOutListeners = new Set<() => void>();

/** Called when the server answers 401: the session ended (signed out elsewhere, expired, disabled). */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export function setCsrfToken(token: string | null): void {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

function headers(method: string, json: boolean): Record<string, string> {
  const out: Record<string, string> = { accept: 'application/json' };
  if (json) out['content-type'] = 'application/json';
  const csrf = sessionStorage.getItem(CSRF_KEY);
  if (method !== 'GET' && method !== 'HEAD' && csrf) out['x-csrf-token'] = csrf;
  return out;
}

async function failure(res: Response): Promise<ApiError> {
  let body: { error?: ApiErrorBody } | null = null;
  try {
    body = (await res.json()) as { error?: ApiErrorBody };
  } catch {
    // Not JSON: described below.
  }
  const error = body?.error ?? { message: `${res.status} ${res.statusText}`, type: 'api_error', param: null, code: null };
  if (res.status === 401) for (const listener of [...signedOutListeners]) listener();
  return new ApiError(res.status, error);
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const form = body instanceof FormData;
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: headers(method, body !== undefined && !form),
    body: body === undefined ? undefined : form ? body : JSON.stringify(body),
    signal,
  });
  if (!res.ok) throw await failure(res);
  return (res.status === 204 ? null : await res.json()) as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, undefined, signal),
  post: <T>(path: string, body?: unknown, signal?: AbortSignal) => request<T>('POST', path, body ?? {}, signal),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
};

/** One parsed Server-Sent Events `data:` payload of a streamed /chat answer. */
export type StreamEvent = Record<string, unknown>;

/**
 * POSTs a streamed /chat turn and yields each event's data as it arrives; an in-band error event
 * is thrown as an ApiError. Aborting the signal stops the request (the server stores the partial
 * answer as incomplete).
 */
export async function* streamChat(body: Record<string, unknown>, signal: AbortSignal): AsyncGenerator<StreamEvent> {
  const res = await fetch('/chat', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { ...headers('POST', true), accept: 'text/event-stream' },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
  });
  if (!res.ok || !res.body) throw await failure(res);
  const conversationId = res.headers.get('x-conversation-id');
  if (conversationId) yield { object: 'colloquy.conversation', conversation_id: conversationId };
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      if (!data) continue;
      if (data === '[DONE]') return;
      const event = JSON.parse(data) as StreamEvent & { error?: ApiErrorBody };
      if (event.error) throw new ApiError(500, event.error);
      yield event;
    }
  }
}
