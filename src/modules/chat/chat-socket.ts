import { type BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocket } from 'ws';
import { DomainError } from '../../common/errors/domain-error.js';
import { BODY_TOO_LARGE_MESSAGE, toHttpError } from '../../common/errors/error-table.js';
import { ErrorTranslator } from '../../common/errors/error-translator.js';
import type { Caller } from '../../common/http/caller.js';
import type { ChunkSink } from '../../common/streaming/chunk-sink.js';
import { validate } from '../../common/validation/validate.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import { AppConfig } from '../../config/app-config.js';
import { type Credentials, RequestPolicy } from '../access/request-policy.service.js';
import { chatBody } from './chat.schemas.js';
import { ChatService } from './chat.service.js';

export const CHAT_SOCKET_PATH = '/chat/ws';
/** Smart-Host's socket: its /chat body in, plain-text deltas out, then `[END]`. */
export const SMART_HOST_SOCKET_PATH = '/ws_chat';
/** The subprotocol a browser offers (with `bearer.<key>`, as browsers cannot set headers). */
export const CHAT_SOCKET_PROTOCOL = 'colloquy.chat.v1';
const BEARER_PROTOCOL = 'bearer.';

/**
 * POST /chat over a WebSocket (GET /chat/ws), for clients that would rather keep one connection
 * than read Server-Sent Events. The key comes in the Authorization header or, from a browser, as
 * the subprotocol `bearer.<key>` offered next to `colloquy.chat.v1`. Each `{"type":"chat", …}`
 * message is one /chat turn (the same body; always streamed), charged to the requests-per-minute
 * limit, admitted, stored and metered like one; `{"type":"cancel"}` stops the answer in flight.
 * The server sends `chunk` frames (the SSE stream's objects), `error` frames, and `done` at the
 * end of every turn. GET /ws_chat serves Smart-Host's clients the same turns in their framing:
 * the /chat body as the message, the answer as plain-text deltas, then `[END]`.
 */
@Injectable()
export class ChatSocket implements BeforeApplicationShutdown {
  /** Turns in flight on any socket, with their abort: shutdown stops them and waits for their records. */
  private readonly turns = new Map<Promise<void>, AbortController>();
  private stopping = false;

  constructor(
    private readonly chat: ChatService,
    private readonly policy: RequestPolicy,
    private readonly translator: ErrorTranslator,
    private readonly config: AppConfig,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  async register(fastify: FastifyInstance): Promise<void> {
    await fastify.register(websocket, {
      options: {
        // Past the allowance a message is read, so that it gets its 413 frame (as HTTP answers a
        // body over the limit) rather than a closed socket; far larger ones still close it (1009).
        maxPayload: this.config.http.maxBodyBytes + 64 * FRAME_ALLOWANCE_BYTES,
        handleProtocols: (protocols: Set<string>) => (protocols.has(CHAT_SOCKET_PROTOCOL) ? CHAT_SOCKET_PROTOCOL : false),
      },
    });
    for (const [path, framing] of [
      [CHAT_SOCKET_PATH, COLLOQUY_FRAMING],
      [SMART_HOST_SOCKET_PATH, SMART_HOST_FRAMING],
    ] as const) {
      fastify.get(path, { websocket: true, preValidation: (request, reply) => this.authenticate(request, reply) }, (socket, request) =>
        this.serve(socket, request, path, framing),
      );
    }
  }

  /** Stops the answers in flight and waits until they are stored and metered, before the database closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    for (const controller of this.turns.values()) controller.abort({ kind: 'client' });
    await Promise.allSettled([...this.turns.keys()]);
  }

  /**
   * Refuses the upgrade with OpenAI's error envelope (401, 403, 503 while starting) before any
   * socket exists. A browser's upgrade carries its cookies whichever page opened it and cannot
   * carry a CSRF header, so one authenticated by the session cookie must come from a page of this
   * server: its Origin must name the Host it was sent to (403 `origin_mismatch` otherwise).
   */
  private async authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      const presented = this.credentials(request);
      if (presented.authorization === undefined && presented.session !== undefined && !sameOrigin(request)) {
        throw new DomainError(
          'forbidden',
          'A WebSocket signed in by cookie must be opened from a page of this server (its Origin must match the Host).',
          {
            code: 'origin_mismatch',
          },
        );
      }
      request.caller = await this.policy.authenticateSocket(presented, request.ip);
    } catch (err) {
      const http = toHttpError(this.translator.domain(err));
      await reply.code(http.status).headers(http.headers).send(http.body);
    }
  }

  /** The key as presented: the Authorization header, else the `bearer.<key>` subprotocol; else the session cookie. */
  private credentials(request: FastifyRequest): Credentials {
    return this.policy.credentialsOf(
      request.headers.authorization ?? bearerFromProtocols(request.headers['sec-websocket-protocol']),
      request.headers.cookie,
    );
  }

  private serve(socket: WebSocket, request: FastifyRequest, path: string, framing: Framing): void {
    const who = { presented: this.credentials(request), ip: request.ip };
    let turn: { sink: SocketSink; controller: AbortController } | null = null;
    let turns = 0;
    const ping = setInterval(() => socket.readyState === WebSocket.OPEN && socket.ping(), this.config.upstream.pingIntervalMs);
    ping.unref();
    socket.on('close', () => {
      clearInterval(ping);
      turn?.controller.abort({ kind: 'client' });
    });
    socket.on('message', (data, isBinary) => {
      // ws hands a message as one Buffer (its default binaryType, 'nodebuffer').
      const refuse = (id: string | null, error: DomainError, turnLike = false) => {
        for (const frame of framing.refusal(id, error, { turnLike, inFlight: turn !== null })) void write(socket, frame);
      };
      const message = framing.read(isBinary ? null : (data as Buffer).toString());
      if (message instanceof DomainError) return refuse(null, message);
      const { id } = message;
      if ((data as Buffer).length > this.config.http.maxBodyBytes + FRAME_ALLOWANCE_BYTES) {
        // What HTTP refuses before any guard (Fastify's body limit) is refused here the same way, uncharged.
        return refuse(id, new DomainError('too_large', BODY_TOO_LARGE_MESSAGE), true);
      }
      if (message.kind === 'cancel') {
        turn?.sink.cancel();
        turn?.controller.abort({ kind: 'client' });
        return;
      }
      if (turn) {
        return refuse(
          id,
          new DomainError('conflict', 'An answer is still streaming on this socket; cancel it or wait for its end.', { code: 'busy' }),
        );
      }
      if (this.stopping) {
        return refuse(id, new DomainError('unavailable', 'The server is shutting down; reconnect shortly.', { code: 'shutting_down' }));
      }
      const current = { sink: new SocketSink(socket, id, framing), controller: new AbortController() };
      turn = current;
      turns += 1;
      const running = this.run(who, socket, message.body, current, { requestId: `${request.id}:${turns}`, endpoint: path }).finally(() => {
        this.turns.delete(running);
        if (turn === current) turn = null;
      });
      this.turns.set(running, current.controller);
    });
  }

  private async run(
    who: { presented: Credentials; ip: string },
    socket: WebSocket,
    rest: Record<string, unknown>,
    turn: { sink: SocketSink; controller: AbortController },
    meta: { requestId: string; endpoint: string },
  ): Promise<void> {
    let caller: Caller;
    try {
      // Each turn is a request, under the same policy as HTTP: a key revoked, a user disabled or
      // limits changed since the socket opened take effect here (the check is cached, as on HTTP).
      caller = await this.policy.authenticateSocket(who.presented, who.ip);
    } catch (err) {
      await turn.sink.fail(this.translator.domain(err));
      turn.sink.end();
      socket.close(1008, 'API key no longer valid');
      return;
    }
    try {
      // Charged before validation, as the HTTP route's guard is.
      await this.policy.chargeRequest(caller);
      const body = validate(chatBody, { ...rest, stream: true });
      await this.chat.chat(caller, body, { ...meta, signal: turn.controller.signal, sink: turn.sink });
    } catch (err) {
      if (!turn.sink.clientGone) {
        const error = this.translator.domain(err);
        if (toHttpError(error).unexpected)
          this.logger.error({ err: (err as Error)?.message, reqId: meta.requestId }, 'a socket turn failed unexpectedly');
        await turn.sink.fail(error);
      }
    } finally {
      turn.sink.end();
    }
  }
}

/** A chat message is a /chat body plus its `type` and `id`: it may be MAX_BODY_MB and this much more. */
const FRAME_ALLOWANCE_BYTES = 1024;

/** A message from the client: a turn (a /chat body), or a cancel of the turn in flight. */
type SocketMessage = { kind: 'chat'; id: string | null; body: Record<string, unknown> } | { kind: 'cancel'; id: string | null };

/** How a socket's messages are read and its answers written. */
interface Framing {
  read(text: string | null): SocketMessage | DomainError;
  /** The frame of one chunk, or null when this framing sends nothing for it. */
  chunk(id: string | null, data: unknown): string | null;
  error(id: string | null, error: unknown): string;
  done(id: string | null, cancelled: boolean): string;
  /**
   * The frames answering a message that started no turn: `turnLike` when it was a turn refused
   * whole (over the size limit), `inFlight` while another turn is streaming.
   */
  refusal(id: string | null, error: unknown, at: { turnLike: boolean; inFlight: boolean }): string[];
}

/** GET /chat/ws: `{"type":"chat", …}` and `{"type":"cancel"}` in; chunk, error and done JSON frames out. */
const COLLOQUY_FRAMING: Framing = {
  read(text) {
    const message = parseMessage(text);
    if (message instanceof DomainError) return message;
    const { type, id: rawId, ...body } = message;
    const id = typeof rawId === 'string' ? rawId : null;
    if (type === 'cancel') return { kind: 'cancel', id };
    if (type !== 'chat') return new DomainError('invalid', 'Messages are {"type": "chat", …} or {"type": "cancel"}.', { param: 'type' });
    return { kind: 'chat', id, body };
  },
  chunk: (id, data) => JSON.stringify({ type: 'chunk', id, data }),
  error(id, error) {
    const http = toHttpError(error);
    return JSON.stringify({ type: 'error', id, status: http.status, error: http.body.error });
  },
  done: (id, cancelled) => JSON.stringify({ type: 'done', id, ...(cancelled ? { cancelled: true } : {}) }),
  // A turn refused whole ends with its done frame (ids tell turns apart); any other refusal is the
  // error alone, as a done frame would read as the end of the turn in flight.
  refusal: (id, error, at) => [COLLOQUY_FRAMING.error(id, error), ...(at.turnLike ? [COLLOQUY_FRAMING.done(id, false)] : [])],
};

/** Smart-Host's /ws_chat: its /chat body in; each content delta as a text frame, `[ERROR] <message>` on failure, then `[END]`. */
const SMART_HOST_FRAMING: Framing = {
  read(text) {
    const message = parseMessage(text);
    return message instanceof DomainError ? message : { kind: 'chat', id: null, body: message };
  },
  chunk(_id, data) {
    const content = (data as { choices?: Array<{ delta?: { content?: unknown } }> })?.choices?.[0]?.delta?.content;
    return typeof content === 'string' && content !== '' ? content : null;
  },
  error: (_id, error) => `[ERROR] ${toHttpError(error).body.error.message}`,
  done: () => '[END]',
  // Its clients read to [END]: a refusal ends with one, unless a turn is streaming (its [END] is still to come).
  refusal: (id, error, at) => [SMART_HOST_FRAMING.error(id, error), ...(at.inFlight ? [] : ['[END]'])],
};

/** One turn's answer as frames on the socket. */
class SocketSink implements ChunkSink {
  private gone = false;
  private cancelled = false;
  private ended = false;
  private closed = false;
  private readonly goneListeners: Array<() => void> = [];
  private readonly closeListeners: Array<() => void> = [];

  private readonly onSocketClose = (): void => this.markGone();

  constructor(
    private readonly socket: WebSocket,
    private readonly id: string | null,
    private readonly framing: Framing,
  ) {
    socket.once('close', this.onSocketClose);
  }

  open(): void {
    // Nothing to commit: the socket is already open (HTTP's headers have no frame here).
  }

  get clientGone(): boolean {
    return this.gone || this.socket.readyState !== WebSocket.OPEN;
  }

  onClientGone(listener: () => void): void {
    this.goneListeners.push(listener);
  }

  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** The client asked to stop: the answer ends as if it had left, the socket stays. */
  cancel(): void {
    this.cancelled = true;
    this.markGone();
  }

  async send(data: unknown): Promise<void> {
    if (this.ended || this.clientGone) return;
    const frame = this.framing.chunk(this.id, data);
    if (frame !== null) await write(this.socket, frame);
  }

  /** An error frame with its HTTP status, whether the answer had begun or not. */
  async fail(error: unknown): Promise<void> {
    if (this.ended || this.clientGone) return;
    await write(this.socket, this.framing.error(this.id, error));
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.socket.readyState === WebSocket.OPEN) void write(this.socket, this.framing.done(this.id, this.cancelled));
    this.close();
  }

  private markGone(): void {
    if (this.gone || this.ended) return;
    this.gone = true;
    for (const listener of this.goneListeners) listener();
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.off('close', this.onSocketClose);
    for (const listener of this.closeListeners) listener();
  }
}

function parseMessage(text: string | null): Record<string, unknown> | DomainError {
  try {
    const value: unknown = text === null ? null : JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Falls through to the error below.
  }
  return new DomainError('invalid', 'Messages are JSON objects sent as text frames.');
}

/** Sends one text frame; resolves once the socket has taken it. */
function write(socket: WebSocket, frame: string): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readyState !== WebSocket.OPEN) return resolve();
    socket.send(frame, () => resolve());
  });
}

/** Whether the Origin header names the host the request was sent to (a missing Origin does not). */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  // request.host: the Host header, or X-Forwarded-Host with TRUST_PROXY (a proxy may rewrite Host).
  const host = request.host;
  if (!origin || !host || !URL.canParse(origin)) return false;
  return new URL(origin).host === host.toLowerCase();
}

function bearerFromProtocols(header: string | undefined): string | undefined {
  const key = header
    ?.split(',')
    .map((p) => p.trim())
    .find((p) => p.startsWith(BEARER_PROTOCOL))
    ?.slice(BEARER_PROTOCOL.length);
  // An empty `bearer.` is a key presented (and refused), never the absence of one.
  return key === undefined ? undefined : `Bearer ${key}`;
}
