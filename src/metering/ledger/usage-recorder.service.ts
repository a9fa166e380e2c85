import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { uuidv7 } from '../../common/ids.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { translatePrismaError } from '../../persistence/prisma-errors.js';
import type { UsageEntry } from './usage-entry.js';
import { UsageStore } from './usage-store.js';

/** A usage record whose id and time are fixed, as a statement that writes it with other rows takes it. */
export type StoredEntry = UsageEntry & { id: string; at: Date };

const FLUSH_EVERY_MS = 50;
const FLUSH_AT = 500;
/** While the database is down, records wait in memory up to this many; the oldest are logged, not lost silently. */
const MAX_PENDING = 200_000;

/**
 * Writes usage records. Stateless calls (/v1/chat/completions) are written in small batches, a
 * few milliseconds after the response, so metering costs one multi-row insert per batch instead
 * of a round trip per request; a conversation turn writes its record in the statement that stores
 * its messages, and alone should that statement fail, so that no failure of the latter can lose it. Pending records are flushed at
 * shutdown and retried while the database is away; every row is made storable (see the repository).
 */
@Injectable()
export class UsageRecorder implements BeforeApplicationShutdown {
  private pending: UsageEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private failures = 0;

  constructor(
    private readonly repo: UsageStore,
    private readonly metrics: MetricsService,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  /** Queues a record for the next batch. */
  record(entry: UsageEntry): void {
    this.metrics.recordCall(entry);
    // Its id is fixed now, so that a batch written again (a commit whose answer was lost) is not written twice.
    this.enqueue({ ...entry, id: entry.id ?? uuidv7(), at: entry.at ?? new Date() });
  }

  private enqueue(entry: UsageEntry): void {
    this.pending.push(entry);
    if (this.pending.length > MAX_PENDING) {
      const dropped = this.pending.splice(0, this.pending.length - MAX_PENDING);
      this.logger.error({ dropped: dropped.length }, 'usage records dropped: the database has been unavailable too long');
    }
    if (this.pending.length >= FLUSH_AT) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_EVERY_MS);
  }

  /**
   * Writes records with the caller's own rows, in the caller's statement (`store`: one commit for
   * a chat turn's records, one per upstream round, and its messages). Should that statement fail,
   * the records are written on their own (queued while the database is away), so that the failure
   * never loses them; the failure is returned for the caller to report.
   */
  async writeWith(entries: readonly UsageEntry[], store: (records: StoredEntry[]) => Promise<void>): Promise<{ storeError?: Error }> {
    const rows = entries.map((entry) => ({ ...entry, id: entry.id ?? uuidv7(), at: entry.at ?? new Date() }));
    for (const row of rows) this.metrics.recordCall(row);
    try {
      await store(rows);
      return {};
    } catch (storeError) {
      try {
        if (rows.length) await this.repo.insertMany(rows);
      } catch (err) {
        if (translatePrismaError(err)?.kind === 'unavailable') for (const row of rows) this.enqueue(row);
        else
          this.logger.error(
            { err: (err as Error).message, requestId: rows[0].requestId, userId: rows[0].userId },
            'usage records could not be written',
          );
      }
      return { storeError: storeError instanceof Error ? storeError : new Error(String(storeError)) };
    }
  }

  /** Writes everything queued so far (tests and shutdown wait on it). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.flushing) await this.flushing;
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.repo
      .insertMany(batch)
      .then(() => {
        this.failures = 0;
      })
      .catch(async (err: unknown) => {
        if (translatePrismaError(err)?.kind === 'unavailable') {
          // The database is away: keep the batch and try again with backoff.
          this.pending = batch.concat(this.pending);
          this.failures++;
          this.logger.error({ err: (err as Error).message, pending: this.pending.length }, 'usage records not written yet; retrying');
          this.timer ??= setTimeout(() => void this.flush(), Math.min(30_000, 250 * 2 ** this.failures));
          return;
        }
        // Anything else is about the rows: write them one by one, so one bad row cannot hold the rest.
        this.logger.error({ err: (err as Error).message, rows: batch.length }, 'usage batch refused; writing its records one by one');
        await this.writeOneByOne(batch);
      })
      .finally(() => {
        this.flushing = null;
      });
    await this.flushing;
  }

  private async writeOneByOne(batch: UsageEntry[]): Promise<void> {
    for (const entry of batch) {
      try {
        await this.repo.insertMany([entry]);
      } catch (err) {
        this.logger.error({ err: (err as Error).message, requestId: entry.requestId, userId: entry.userId }, 'usage record could not be written');
      }
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
