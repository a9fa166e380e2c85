import { Injectable } from '@nestjs/common';
import type { Prisma } from '../../generated/prisma/client.js';
import { uuidv7 } from '../../common/ids.js';
import { cursorOrder, cursorWhere } from '../../common/http/pagination.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { JobQueue, type JobRow } from './job-queue.js';
import type { ListJobsQuery, JobStatus } from './jobs.schemas.js';

// Declared with the queue contract, which must not import its implementation; still exported here for the module's files.
export type { JobRow };

@Injectable()
export class JobsRepository extends JobQueue {
  constructor(private readonly prisma: PrismaService) {
    super();
  }

  /** The jobs table exists once migrations ran. */
  override ready(): Promise<void> {
    return this.prisma.whenMigrated();
  }

  create(data: { userId: string; apiKeyId: string; request: object; model: string | null; conversationId: string | null }): Promise<JobRow> {
    return this.prisma.chatJob.create({ data: { id: uuidv7(), status: 'queued', ...data } });
  }

  find(id: string): Promise<JobRow | null> {
    return this.prisma.chatJob.findUnique({ where: { id } });
  }

  /**
   * `conversation`: the jobs of a conversation, by its id, or (for a key) also those submitted
   * with the key before the conversation existed.
   */
  list(
    userId: string | null,
    query: Omit<ListJobsQuery, 'conversation_id' | 'status'> & { status?: JobStatus | readonly JobStatus[] },
    conversation?: { id: string | null; key: string | null },
  ): Promise<JobRow[]> {
    return this.prisma.chatJob.findMany({
      where: {
        ...(userId ? { userId } : {}),
        ...(typeof query.status === 'string' ? { status: query.status } : query.status ? { status: { in: [...query.status] } } : {}),
        ...(conversation
          ? {
              OR: [
                ...(conversation.id ? [{ conversationId: conversation.id }] : []),
                ...(conversation.key
                  ? [
                      { request: { path: ['conversation_id'], equals: conversation.key } },
                      { request: { path: ['chat_id'], equals: conversation.key } },
                    ]
                  : []),
              ],
            }
          : {}),
        ...cursorWhere(query),
      },
      orderBy: cursorOrder(query),
      take: query.limit + 1,
    });
  }

  /**
   * Takes the oldest runnable job for this worker: queued and due, or running under a lease that
   * has lapsed (its worker is gone). SKIP LOCKED lets replicas claim side by side without waiting
   * on each other; the lease marks the claim.
   */
  override async claim(leaseMs: number): Promise<JobRow | null> {
    const rows = await this.prisma.$queryRaw<Array<{ id: string }>>`
      UPDATE chat_jobs SET
        status = 'running',
        attempts = attempts + 1,
        lease_until = now() + make_interval(secs => ${leaseMs / 1000}::double precision),
        started_at = coalesce(started_at, now())
      WHERE id = (
        SELECT id FROM chat_jobs
        WHERE ((status = 'queued' AND run_after <= now()) OR (status = 'running' AND lease_until < now()))
        ORDER BY run_after, id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
      )
      RETURNING id`;
    return rows[0] ? this.find(rows[0].id) : null;
  }

  /** Extends a running job's lease; answers whether a cancel was asked for (null: no longer ours). */
  override async renew(id: string, attempt: number, leaseMs: number): Promise<{ cancelRequested: boolean } | null> {
    const rows = await this.prisma.$queryRaw<Array<{ cancel_requested: boolean }>>`
      UPDATE chat_jobs SET lease_until = now() + make_interval(secs => ${leaseMs / 1000}::double precision)
      WHERE id = ${id}::uuid AND status = 'running' AND attempts = ${attempt}
      RETURNING cancel_requested`;
    return rows[0] ? { cancelRequested: rows[0].cancel_requested } : null;
  }

  /** Ends the job, if this claim (attempt) still holds it. */
  override async finish(
    id: string,
    attempt: number,
    status: Exclude<JobStatus, 'queued' | 'running'>,
    data: { result?: object; error?: object; conversationId?: string | null },
  ): Promise<boolean> {
    const { count } = await this.prisma.chatJob.updateMany({
      where: { id, status: 'running', attempts: attempt },
      data: {
        status,
        finishedAt: new Date(),
        leaseUntil: null,
        ...(data as { result?: Prisma.InputJsonValue; error?: Prisma.InputJsonValue; conversationId?: string | null }),
      },
    });
    return count === 1;
  }

  /** Puts a claimed job back in the queue (rate limited, or this replica is shutting down). */
  override async release(id: string, attempt: number, runAfter: Date, countAttempt: boolean): Promise<void> {
    await this.prisma.chatJob.updateMany({
      where: { id, status: 'running', attempts: attempt },
      data: { status: 'queued', runAfter, leaseUntil: null, ...(countAttempt ? {} : { attempts: { decrement: 1 } }) },
    });
  }

  /** A queued job is cancelled at once; a running one is flagged for its worker. */
  async cancel(id: string): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.chatJob.updateMany({ where: { id, status: 'queued' }, data: { status: 'cancelled', finishedAt: new Date() } }),
      this.prisma.chatJob.updateMany({ where: { id, status: 'running' }, data: { cancelRequested: true } }),
    ]);
  }
}
