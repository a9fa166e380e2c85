import { basename } from 'node:path';
import type { ApiClient } from './api-client.js';
import { ApiError } from './api-error.js';
import type { ChatChunk, ChatResponse, Usage } from './api-types.js';
import { appendFiles } from './attachments.js';
import { readSse } from './sse.js';

export interface ChatRequest {
  message: string;
  model?: string;
  profile?: string;
  conversation_id?: string;
  /** Files already uploaded, attached to this message. */
  file_ids?: string[];
}

export interface TurnResult {
  text: string;
  conversationId: string | null;
  model: string | null;
  usage: Usage | null;
  /** USD; null when the stream stopped before the server said. */
  cost: number | null;
  /** The caller's signal stopped it; the server keeps what was said as an incomplete answer. */
  aborted: boolean;
}

export interface TurnOptions {
  /** Local files sent with the message (multipart), attached by the server. */
  files?: string[];
  signal?: AbortSignal;
  /** Each piece of the answer, as it arrives. */
  onText?: (text: string) => void;
  /** The conversation id, as soon as the response headers name it (before any text). */
  onConversation?: (id: string) => void;
}

/** The POST /chat body, as JSON or (with local files) as multipart form fields. */
async function chatBody(request: ChatRequest, stream: boolean, files: string[]): Promise<{ json?: object; form?: FormData }> {
  const fields: Record<string, unknown> = {
    messages: [{ role: 'user', content: request.message }],
    stream,
    ...(request.model ? { model: request.model } : {}),
    ...(request.profile ? { profile: request.profile } : {}),
    ...(request.conversation_id ? { conversation_id: request.conversation_id } : {}),
    ...(request.file_ids?.length ? { file_ids: request.file_ids } : {}),
  };
  if (!files.length) return { json: fields };
  const form = new FormData();
  // Fields before files: the server reads the parts in order.
  for (const [name, value] of Object.entries(fields)) form.append(name, typeof value === 'string' ? value : JSON.stringify(value));
  await appendFiles(form, 'files', files);
  return { form };
}

/** One streamed turn: text is handed on as it arrives; a failure midway is an ApiError after the partial text. */
export async function streamTurn(client: ApiClient, request: ChatRequest, options: TurnOptions = {}): Promise<TurnResult> {
  const files = options.files ?? [];
  const result: TurnResult = { text: '', conversationId: request.conversation_id ?? null, model: null, usage: null, cost: null, aborted: false };
  try {
    const res = await client
      .request('POST', '/chat', { ...(await chatBody(request, true, files)), signal: options.signal, accept: 'text/event-stream' })
      .catch((err: unknown) => {
        throw files.length && err instanceof ApiError && err.status === 413 ? err.about(files.map((f) => basename(f)).join(', ')) : err;
      });
    const id = res.headers.get('x-conversation-id');
    if (id) {
      result.conversationId = id;
      options.onConversation?.(id);
    }
    if (!res.body) throw new ApiError('stream', 'the server sent an empty answer', { url: client.baseUrl });
    let done = false;
    for await (const event of readSse(res.body)) {
      if (event.data === '[DONE]') {
        done = true;
        break;
      }
      const chunk = parseChunk(event.data, client.baseUrl);
      if (chunk.error) {
        throw new ApiError('stream', `the answer failed: ${chunk.error.message ?? 'unknown error'}`, {
          url: client.baseUrl,
          code: chunk.error.code ?? null,
        });
      }
      const text = chunk.choices?.[0]?.delta?.content;
      if (text) {
        result.text += text;
        options.onText?.(text);
      }
      if (chunk.model) result.model = chunk.model;
      if (chunk.usage) result.usage = chunk.usage;
      if (chunk.conversation_id) result.conversationId = chunk.conversation_id;
      if (typeof chunk.cost === 'number') result.cost = chunk.cost;
    }
    if (!done) throw new ApiError('stream', 'the answer was cut off: the connection closed before it ended', { url: client.baseUrl });
    return result;
  } catch (err) {
    if (options.signal?.aborted) return { ...result, aborted: true };
    throw err;
  }
}

/** One turn without streaming: the whole chat.completion (with conversation_id and cost). */
export async function blockingTurn(
  client: ApiClient,
  request: ChatRequest,
  options: Pick<TurnOptions, 'files' | 'signal'> = {},
): Promise<ChatResponse> {
  const files = options.files ?? [];
  try {
    return await client.json<ChatResponse>('POST', '/chat', { ...(await chatBody(request, false, files)), signal: options.signal });
  } catch (err) {
    throw files.length && err instanceof ApiError && err.status === 413 ? err.about(files.map((f) => basename(f)).join(', ')) : err;
  }
}

function parseChunk(data: string, url: string): ChatChunk {
  try {
    return JSON.parse(data) as ChatChunk;
  } catch {
    throw new ApiError('stream', 'the server sent a malformed event', { url });
  }
}
