import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { toHttpError } from '../errors/error-table.js';
import type { ChunkSink } from '../streaming/chunk-sink.js';

export interface SseOptions {
  /** A `: ping` comment after this much silence, so proxies keep the connection. */
  pingIntervalMs: number;
}

/**
 * The one Server-Sent Events writer: takes the raw response over from Fastify, writes
 * `data: <json>` frames with backpressure, pings while the upstream is quiet, and tells when
 * the client went away.
 */
export class SseWriter implements ChunkSink {
  private readonly res: ServerResponse;
  private pingTimer: NodeJS.Timeout | undefined;
  private ended = false;
  private disconnected = false;
  private corked = false;
  private readonly closeListeners: Array<() => void> = [];

  constructor(
    private readonly reply: FastifyReply,
    private readonly options: SseOptions,
  ) {
    this.res = reply.raw;
  }

  /** Commits the 200 and the headers (x-conversation-id, rate-limit headers…). Call only once the first chunk is in hand. */
  open(extra: Record<string, string>): void {
    this.reply.hijack();
    const headers: Record<string, string | number> = {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
      'x-request-id': this.reply.request.id,
      ...extra,
    };
    if (this.reply.server.isClosing()) headers.connection = 'close';
    // Headers set earlier on the reply (CORS, security) belong to this response too.
    for (const [name, value] of Object.entries(this.reply.getHeaders())) {
      if (value !== undefined && !(name in headers)) headers[name] = value as string;
    }
    this.res.writeHead(200, headers);
    this.res.on('close', () => {
      if (!this.ended) {
        this.disconnected = true;
        for (const listener of this.closeListeners) listener();
      }
      clearTimeout(this.pingTimer);
    });
    this.schedulePing();
  }

  get clientGone(): boolean {
    return this.disconnected || this.res.destroyed;
  }

  /** Called once if the client disconnects before the stream ended. */
  onClientGone(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  onClose(listener: () => void): void {
    this.res.once('close', listener);
  }

  /** Writes one `data:` frame; resolves when the socket can take more. */
  async send(data: unknown): Promise<void> {
    await this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** In-band: the status line is already sent, so the envelope alone. */
  fail(error: unknown): Promise<void> {
    return this.send(toHttpError(error).body);
  }

  /** `data: [DONE]` and the end of the response. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.pingTimer);
    if (this.clientGone) return;
    // During shutdown, a stream that began before it must not leave a kept-alive socket behind.
    if (this.reply.server.isClosing()) this.res.once('finish', () => this.reply.server.server.closeIdleConnections());
    this.res.end('data: [DONE]\n\n');
  }

  private async write(frame: string): Promise<void> {
    if (this.clientGone || this.ended) return;
    this.schedulePing();
    // Frames written in the same tick (chunks that arrived in one read) leave in one write.
    if (!this.corked) {
      this.corked = true;
      this.res.cork();
      process.nextTick(() => {
        this.corked = false;
        this.res.uncork();
      });
    }
    if (!this.res.write(frame)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.res.off('drain', done);
          this.res.off('close', done);
          resolve();
        };
        this.res.on('drain', done);
        this.res.on('close', done);
      });
    }
  }

  private schedulePing(): void {
    if (this.pingTimer) {
      this.pingTimer.refresh();
      return;
    }
    this.pingTimer = setTimeout(() => {
      if (!this.clientGone && !this.ended) {
        this.res.write(': ping\n\n');
        this.schedulePing();
      }
    }, this.options.pingIntervalMs);
    this.pingTimer.unref();
  }
}

/** An AbortSignal that fires when the client closes the connection before the response ended. */
export function clientDisconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  res.on('close', () => {
    if (!res.writableFinished) controller.abort({ kind: 'client' });
  });
  return controller.signal;
}
