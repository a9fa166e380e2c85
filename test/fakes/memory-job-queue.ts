import type { Prisma } from '../../src/generated/prisma/client.js';
import { JobQueue } from '../../src/modules/jobs/job-queue.js';
import type { JobRow } from '../../src/modules/jobs/jobs.repository.js';
import type { JobStatus } from '../../src/modules/jobs/jobs.schemas.js';

type Method = 'claim' | 'renew' | 'finish' | 'release';

/**
 * The job queue in memory, with the repository's rules: a claim takes the oldest job that is
 * queued and due or running under a lapsed lease, counting an attempt; renew, finish and release
 * act only for the claim (attempt) that holds the job. Time is Date.now (fake timers move it).
 */
export class MemoryJobQueue extends JobQueue {
  private readonly jobs = new Map<string, JobRow>();
  private readonly failures = new Map<Method, { error: Error; times: number }>();
  private readonly watchers = new Set<() => void>();
  private nextId = 1;

  /** A job as submitted (queued, due now) unless `fields` say otherwise. */
  add(fields: Partial<JobRow> = {}): JobRow {
    const now = new Date();
    const id = fields.id ?? `00000000-0000-7000-8000-${String(this.nextId++).padStart(12, '0')}`;
    const job: JobRow = {
      id,
      userId: 'user-1',
      apiKeyId: 'key-1',
      status: 'queued',
      request: { messages: [{ role: 'user', content: 'hello' }] },
      result: null,
      error: null,
      model: null,
      conversationId: null,
      attempts: 0,
      runAfter: now,
      leaseUntil: null,
      cancelRequested: false,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      ...fields,
    };
    this.jobs.set(id, job);
    return { ...job };
  }

  get(id: string): JobRow {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`no job ${id}`);
    return { ...job };
  }

  /** What POST /jobs/:id/cancel does to a running job: a flag its worker sees at the next renewal. */
  requestCancel(id: string): void {
    this.write(id, { cancelRequested: true });
  }

  /** Another replica claims the job (its lease having lapsed there): the claim this worker holds is gone. */
  takeOver(id: string, leaseMs: number): void {
    const job = this.get(id);
    this.write(id, { status: 'running', attempts: job.attempts + 1, leaseUntil: new Date(Date.now() + leaseMs) });
  }

  /** The next `times` calls of `method` fail with `error` (the database is away). */
  failNext(method: Method, error: Error, times = Infinity): void {
    this.failures.set(method, { error, times });
  }

  heal(): void {
    this.failures.clear();
  }

  /** Resolves with the job once a write leaves it matching `test` (at once if it does now). */
  until(id: string, test: (job: JobRow) => boolean): Promise<JobRow> {
    return new Promise((resolve) => {
      const check = () => {
        const job = this.get(id);
        if (!test(job)) return;
        this.watchers.delete(check);
        resolve(job);
      };
      this.watchers.add(check);
      check();
    });
  }

  /** Resolves once the job has ended (succeeded, failed or cancelled). */
  finished(id: string): Promise<JobRow> {
    return this.until(id, (job) => ['succeeded', 'failed', 'cancelled'].includes(job.status));
  }

  override ready(): Promise<void> {
    return Promise.resolve();
  }

  override async claim(leaseMs: number): Promise<JobRow | null> {
    this.maybeFail('claim');
    const now = Date.now();
    const runnable = [...this.jobs.values()]
      .filter(
        (j) =>
          (j.status === 'queued' && j.runAfter.getTime() <= now) || (j.status === 'running' && j.leaseUntil !== null && j.leaseUntil.getTime() < now),
      )
      .sort((a, b) => a.runAfter.getTime() - b.runAfter.getTime() || a.id.localeCompare(b.id));
    const job = runnable[0];
    if (!job) return null;
    this.write(job.id, {
      status: 'running',
      attempts: job.attempts + 1,
      leaseUntil: new Date(now + leaseMs),
      startedAt: job.startedAt ?? new Date(now),
    });
    return this.get(job.id);
  }

  override async renew(id: string, attempt: number, leaseMs: number): Promise<{ cancelRequested: boolean } | null> {
    this.maybeFail('renew');
    const job = this.jobs.get(id);
    if (!job || job.status !== 'running' || job.attempts !== attempt) return null;
    this.write(id, { leaseUntil: new Date(Date.now() + leaseMs) });
    return { cancelRequested: job.cancelRequested };
  }

  override async finish(
    id: string,
    attempt: number,
    status: Exclude<JobStatus, 'queued' | 'running'>,
    data: { result?: Prisma.InputJsonValue; error?: Prisma.InputJsonValue; conversationId?: string | null },
  ): Promise<boolean> {
    this.maybeFail('finish');
    const job = this.jobs.get(id);
    if (!job || job.status !== 'running' || job.attempts !== attempt) return false;
    this.write(id, {
      status,
      finishedAt: new Date(),
      leaseUntil: null,
      ...(data.result !== undefined ? { result: data.result as Prisma.JsonValue } : {}),
      ...(data.error !== undefined ? { error: data.error as Prisma.JsonValue } : {}),
      ...(data.conversationId !== undefined ? { conversationId: data.conversationId } : {}),
    });
    return true;
  }

  override async release(id: string, attempt: number, runAfter: Date, countAttempt: boolean): Promise<void> {
    this.maybeFail('release');
    const job = this.jobs.get(id);
    if (!job || job.status !== 'running' || job.attempts !== attempt) return;
    this.write(id, { status: 'queued', runAfter, leaseUntil: null, attempts: countAttempt ? job.attempts : job.attempts - 1 });
  }

  private write(id: string, fields: Partial<JobRow>): void {
    this.jobs.set(id, { ...this.get(id), ...fields });
    for (const watcher of [...this.watchers]) watcher();
  }

  private maybeFail(method: Method): void {
    const failure = this.failures.get(method);
    if (!failure || failure.times <= 0) return;
    failure.times--;
    throw failure.error;
  }
}
