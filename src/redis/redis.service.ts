import { createRequire } from 'node:module';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import type { AppLogger } from '../common/logging/logger.js';
import { InjectLogger } from '../common/logging/logger.token.js';

/** ioredis is loaded only when REDIS_URL is set (~10 MB that a single replica does without). */
const load = createRequire(import.meta.url);

export type RedisState = 'disabled' | 'up' | 'down';

/**
 * The optional shared Redis (REDIS_URL): counters that several replicas must agree on. Commands
 * fail fast while it is away (no offline queue, short timeouts) so that callers can fall back to
 * local state; the client keeps reconnecting in the background.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis | null;
  private readonly url: string | null;
  private subscriber: Redis | null = null;
  private readonly channels = new Map<string, (message: string) => void>();
  private lastError: string | null = null;

  constructor(
    config: AppConfig,
    @InjectLogger() private readonly logger: AppLogger,
  ) {
    this.url = config.redis.url;
    this.client = this.url ? this.connect(this.url, 'commands') : null;
  }

  get state(): RedisState {
    if (!this.client) return 'disabled';
    return this.client.status === 'ready' ? 'up' : 'down';
  }

  get error(): string | null {
    return this.lastError;
  }

  async ping(): Promise<void> {
    if (!this.client) return;
    await this.client.ping();
  }

  /** Listens on a channel (a second connection: a subscribed client can do nothing else). */
  subscribe(channel: string, onMessage: (message: string) => void): void {
    if (!this.url) return;
    if (!this.subscriber) {
      const subscriber = this.connect(this.url, 'subscriber');
      // Commands are not queued while disconnected: (re)subscribe whenever the link is ready.
      subscriber.on('ready', () => {
        if (this.channels.size) void subscriber.subscribe(...this.channels.keys()).catch(() => undefined);
      });
      subscriber.on('message', (ch: string, message: string) => this.channels.get(ch)?.(message));
      this.subscriber = subscriber;
    }
    this.channels.set(channel, onMessage);
    if (this.subscriber.status === 'ready') void this.subscriber.subscribe(channel).catch(() => undefined);
  }

  publish(channel: string, message: string): void {
    void this.client?.publish(channel, message).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    for (const c of [this.client, this.subscriber]) {
      if (c) await c.quit().catch(() => c.disconnect());
    }
  }

  private connect(url: string, role: string): Redis {
    const { Redis: Client } = load('ioredis') as typeof import('ioredis');
    const client = new Client(url, {
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: 1_000,
      retryStrategy: (times) => Math.min(times * 200, 5_000),
    });
    client.on('error', (err: Error) => {
      if (this.lastError !== err.message) this.logger.warn({ err: err.message, role }, 'redis unavailable');
      this.lastError = err.message;
    });
    client.on('ready', () => {
      if (this.lastError) this.logger.info({ role }, 'redis reachable again');
      this.lastError = null;
    });
    return client;
  }
}
