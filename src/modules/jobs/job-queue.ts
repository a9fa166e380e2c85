import type { Prisma } from '../../generated/prisma/client.js';
import type { JobStatus } from './jobs.schemas.js';

/** A job as the queue hands it out: its chat_jobs row. */
export type JobRow = Prisma.ChatJobGetPayload<object>;

/**
 * The queue the worker takes jobs from, under leases. An injectable token: JobsRepository keeps
 * it in the database, where replicas claim side by side and a lapsed lease frees a job again.
 * Every write names the claim (the job's attempt) it was made under, and is a no-op once another
 * claim holds the job.
 */
export abstract class JobQueue {
  /** Resolves once the queue can be used (its table exists). */
  abstract ready(): Promise<void>;

  /** Takes the oldest runnable job (queued and due, or running under a lapsed lease), counting an attempt. */
  abstract claim(leaseMs: number): Promise<JobRow | null>;

  /** Extends a running job's lease; answers whether a cancel was asked for (null: no longer ours). */
  abstract renew(id: string, attempt: number, leaseMs: number): Promise<{ cancelRequested: boolean } | null>;

  /** Ends the job, if this claim still holds it. */
  abstract finish(
    id: string,
    attempt: number,
    status: Exclude<JobStatus, 'queued' | 'running'>,
    data: { result?: object; error?: object; conversationId?: string | null },
  ): Promise<boolean>;

  /** Puts a claimed job back in the queue until `runAfter`; `countAttempt: false` gives its attempt back. */
  abstract release(id: string, attempt: number, runAfter: Date, countAttempt: boolean): Promise<void>;
}
