import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { AppLogger } from '../common/logging/logger.js';
import { InjectLogger } from '../common/logging/logger.token.js';
import { PrismaService } from './prisma.service.js';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 15_000;

/**
 * Applies migrations at start without holding up the HTTP listener: until they are applied the
 * readiness probe answers 503, and a database that is down at boot is retried with backoff
 * instead of crashing the pod.
 */
@Injectable()
export class DatabaseLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  lastError: string | null = null;

  constructor(
    private readonly prisma: PrismaService,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    void this.migrateWithRetry(RETRY_MIN_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.prisma.close();
  }

  private async migrateWithRetry(delayMs: number): Promise<void> {
    if (this.stopped) return;
    try {
      const { applied, modified } = await this.prisma.migrate();
      this.lastError = null;
      this.logger.info({ engine: this.prisma.engine, applied }, applied.length ? 'migrations applied' : 'schema up to date');
      if (modified.length) this.logger.warn({ modified }, 'applied migrations were modified since');
    } catch (err) {
      this.lastError = (err as Error).message;
      this.logger.error({ err: this.lastError, retryInMs: delayMs }, 'migrations could not be applied');
      this.retryTimer = setTimeout(() => void this.migrateWithRetry(Math.min(delayMs * 2, RETRY_MAX_MS)), delayMs);
      this.retryTimer.unref();
    }
  }
}
