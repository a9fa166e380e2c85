import { ApiError } from './api-error.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as multipart/form-data. */
  form?: FormData;
  signal?: AbortSignal;
  redirect?: 'follow' | 'manual';
  accept?: string;
}

export interface ListPage<T> {
  object: 'list';
  data: T[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
}

export interface ApiClientOptions {
  baseUrl: string;
  apiKey: string | null;
  userAgent: string;
  /** Where --debug writes request lines. */
  debug?: (line: string) => void;
}

/**
 * A small client for Colloquy's API over fetch. Every failure leaves it as an ApiError (the one
 * error type the CLI reports), except an abort the caller asked for, which stays an AbortError.
 */
export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** The raw response of a successful (2xx, or 3xx with `redirect: 'manual'`) request. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = this.url(path, options.query);
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent, accept: options.accept ?? 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    let body: string | FormData | undefined;
    if (options.form) {
      body = options.form;
    } else if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    }
    const started = Date.now();
    this.options.debug?.(`→ ${method} ${url}`);
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal: options.signal, redirect: options.redirect ?? 'follow' });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      this.options.debug?.(`✗ ${method} ${url}: ${String((err as Error)?.cause ?? err)}`);
      throw ApiError.unreachable(this.baseUrl, err);
    }
    this.options.debug?.(`← ${res.status} ${method} ${url} (${Date.now() - started} ms, request ${res.headers.get('x-request-id') ?? '-'})`);
    if (res.status >= 400 || (res.status >= 300 && options.redirect !== 'manual')) {
      throw await ApiError.fromResponse(res, this.baseUrl);
    }
    return res;
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, options);
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError('http', `the server at ${this.baseUrl} did not answer JSON: is it a Colloquy server?`, {
        url: this.baseUrl,
        status: res.status,
      });
    }
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.json<T>('GET', path, { query, signal });
  }

  post<T>(path: string, json: unknown, signal?: AbortSignal): Promise<T> {
    return this.json<T>('POST', path, { json, signal });
  }

  patch<T>(path: string, json: unknown): Promise<T> {
    return this.json<T>('PATCH', path, { json });
  }

  delete<T>(path: string): Promise<T> {
    return this.json<T>('DELETE', path);
  }

  postForm<T>(path: string, form: FormData, signal?: AbortSignal): Promise<T> {
    return this.json<T>('POST', path, { form, signal });
  }

  /** Every item of a paginated list, following `last_id` while `has_more`. */
  async all<T extends { id: string }>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T[]> {
    const items: T[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.get<ListPage<T>>(path, { ...query, limit: 100, after }, signal);
      items.push(...page.data);
      if (!page.has_more || !page.last_id) return items;
      after = page.last_id;
    }
  }

  private url(path: string, query: Query = {}): string {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }
}
