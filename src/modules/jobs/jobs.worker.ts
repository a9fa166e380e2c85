import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DomainError, errorRecord } from '../../common/errors/domain-error.js';
import { ErrorTranslator } from '../../common/errors/error-translator.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import { AppConfig } from '../../config/app-config.js';
import { UpstreamFailure } from '../../llm/llm-provider.js';
import { sleep } from '../../llm/retry-policy.js';
import { JobQueue } from './job-queue.js';
import { JobRunner } from './job-runner.js';
import type { JobRow } from './jobs.repository.js';

const POLL_MS = 1_000;

interface Running {
  attempt: number;
  controller: AbortController;
  /** Why it was aborted: a cancel, or this replica shutting down (the job goes back to the queue). */
  stop: 'cancel' | 'shutdown' | 'lost' | null;
  done: Promise<void>;
}

/**
 * Runs queued jobs on this replica, at most JOBS_CONCURRENCY at once. A job is claimed under a
 * lease renewed while it runs; a replica that dies leaves a lapsed lease and another claims the
 * job again (up to max_attempts). A job refused for its rate limit waits in the queue until the
 * limit allows it; one refused for anything else fails with what POST /chat would have answered.
 */
@Injectable()
export class JobsWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly running = new Map<string, Running>();
  private timer: NodeJS.Timeout | null = null;
  private filling = false;
  private again = false;
  private stopping = false;
  /** Claims are failing (the database is away): said once, not every poll. */
  private failing = false;
  /** The claim loop in progress, if any (shutdown waits for it). */
  private filled: Promise<void> = Promise.resolve();

  constructor(
    private readonly repo: JobQueue,
    private readonly runner: JobRunner,
    private readonly config: AppConfig,
    private readonly translator: ErrorTranslator,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.jobs.concurrency === 0) return;
    // Polling before the queue is ready (its table migrated) would only fail.
    void this.repo.ready().then(() => {
      if (this.stopping) return;
      this.timer = setInterval(() => this.poke(), POLL_MS);
      this.timer.unref();
      this.poke();
    });
  }

  /** Looks for work now (a job was just submitted, or a slot freed up). */
  poke(): void {
    if (this.config.jobs.concurrency === 0 || this.stopping) return;
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = true;
    this.filled = this.fill().finally(() => {
      this.filling = false;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }

  /** Stops a job running here at once (its cancel flag reaches other replicas through the lease). */
  cancelLocal(id: string): void {
    const job = this.running.get(id);
    if (!job) return;
    job.stop = 'cancel';
    job.controller.abort();
  }

  /** Lets running jobs finish for half the grace period, then hands the rest back to the queue. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.filled;
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    const grace = new Promise<void>((resolve) => setTimeout(resolve, this.config.http.shutdownGraceMs / 2).unref());
    await Promise.race([all(), grace]);
    for (const job of this.running.values()) {
      job.stop = 'shutdown';
      job.controller.abort();
    }
    await all();
  }

  private async fill(): Promise<void> {
    try {
      while (!this.stopping && this.running.size < this.config.jobs.concurrency) {
        const job = await this.repo.claim(this.config.jobs.leaseMs);
        if (this.failing) this.logger.info('claiming jobs again');
        this.failing = false;
        if (!job) return;
        if (this.stopping) {
          // Claimed while shutdown began: back to the queue, for another replica or the next start.
          await this.repo.release(job.id, job.attempts, new Date(), false);
          return;
        }
        this.start(job);
      }
    } catch (err) {
      if (!this.failing) this.logger.warn({ err: (err as Error).message }, 'could not claim jobs; retrying every second');
      this.failing = true;
    }
  }

  private start(job: JobRow): void {
    const entry: Running = { attempt: job.attempts, controller: new AbortController(), stop: null, done: Promise.resolve() };
    this.running.set(job.id, entry);
    const leaseMs = this.config.jobs.leaseMs;
    let renewedAt = Date.now();
    const renewal = setInterval(() => {
      this.repo
        .renew(job.id, entry.attempt, leaseMs)
        .then((state) => {
          renewedAt = Date.now();
          if (state === null) entry.stop ??= 'lost';
          else if (state.cancelRequested) entry.stop ??= 'cancel';
          else return;
          entry.controller.abort();
        })
        .catch(() => {
          // Unrenewed past most of the lease: another worker may claim it now, so this one stops.
          if (Date.now() - renewedAt > leaseMs * 0.8) {
            entry.stop ??= 'lost';
            entry.controller.abort();
          }
        });
    }, leaseMs / 3);
    renewal.unref();
    entry.done = this.execute(job, entry)
      .catch((err: unknown) => this.logger.error({ err: (err as Error).message, jobId: job.id }, 'a job could not be recorded'))
      .finally(() => {
        clearInterval(renewal);
        this.running.delete(job.id);
        this.poke();
      });
  }

  private async execute(job: JobRow, entry: Running): Promise<void> {
    const { id } = job;
    if (job.attempts > this.config.jobs.maxAttempts) {
      await this.fail(
        job,
        entry,
        new DomainError('unavailable', `The job was lost ${job.attempts - 1} times by workers that stopped while running it.`, { code: 'job_lost' }),
      );
      return;
    }
    if (job.cancelRequested) {
      await this.repo.finish(id, entry.attempt, 'cancelled', {});
      return;
    }
    try {
      const answer = await this.runner.run(job, entry.controller.signal);
      if (answer) {
        // The turn is stored: recording its end must not fail, or the job would run again.
        await persist(() => this.repo.finish(id, entry.attempt, 'succeeded', { result: answer, conversationId: answer.conversation_id }));
      } else {
        await this.stopped(job, entry);
      }
    } catch (err) {
      if (entry.stop) return this.stopped(job, entry);
      if (err instanceof DomainError && err.kind === 'rate_limited' && err.retryable !== false && err.retryAfterSeconds !== undefined) {
        // Waits its turn instead of failing: this server's limits free up within the minute (and
        // do not use up an attempt); an upstream's 429 does, so it cannot loop for ever.
        const upstream = err.cause instanceof UpstreamFailure;
        if (!upstream || job.attempts < this.config.jobs.maxAttempts) {
          await this.repo.release(id, entry.attempt, new Date(Date.now() + err.retryAfterSeconds * 1000), upstream);
          return;
        }
      }
      await this.fail(job, entry, err);
    }
  }

  private async stopped(job: JobRow, entry: Running): Promise<void> {
    if (entry.stop === 'shutdown') await this.repo.release(job.id, entry.attempt, new Date(), false);
    else if (entry.stop !== 'lost') await this.repo.finish(job.id, entry.attempt, 'cancelled', {});
  }

  /** Keeps what POST /chat would have answered, as a domain error (the view maps it). */
  private async fail(job: JobRow, entry: Running, err: unknown): Promise<void> {
    const error = this.translator.domain(err);
    if (!(error instanceof DomainError) || error.kind === 'internal')
      this.logger.error({ err: (err as Error)?.message, jobId: job.id }, 'a job failed unexpectedly');
    await this.repo.finish(job.id, entry.attempt, 'failed', { error: errorRecord(error) });
  }
}

const NEVER = new AbortController().signal;

/** Retries a write a few times (0.5, 1, 2 s apart) before letting its error through. */
async function persist<T>(write: () => Promise<T>, tries = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= tries) throw err;
      await sleep(250 * 2 ** attempt, NEVER);
    }
  }
}
