import { Injectable } from '@nestjs/common';
import type { Prisma, Session } from '../../generated/prisma/client.js';
import { cursorOrder, cursorWhere, type ListQuery } from '../../common/http/pagination.js';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { asTx, dbOf, Tx } from '../../persistence/transaction-runner.js';

export type SessionRow = Session;

/** What one request adds to a session's running totals. */
export interface SessionActivity {
  conversations: number;
  messages: number;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
}

@Injectable()
export class SessionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(userId: string, metadata: Record<string, unknown> = {}, tx?: Tx): Promise<SessionRow> {
    return dbOf(tx, this.prisma).session.create({ data: { id: uuidv7(), userId, metadata: metadata as Prisma.InputJsonObject } });
  }

  findById(id: string): Promise<SessionRow | null> {
    return this.prisma.session.findUnique({ where: { id } });
  }

  /** The user's most recently active session that is not ended and was active since `since`. */
  findActive(userId: string, since: Date, tx?: Tx): Promise<SessionRow | null> {
    return dbOf(tx, this.prisma).session.findFirst({
      where: { userId, endedAt: null, lastActivityAt: { gte: since } },
      orderBy: { lastActivityAt: 'desc' },
    });
  }

  list(userId: string, query: ListQuery, active: { since: Date } | { notSince: Date } | null): Promise<SessionRow[]> {
    const activity =
      active === null
        ? {}
        : 'since' in active
          ? { endedAt: null, lastActivityAt: { gte: active.since } }
          : { OR: [{ endedAt: { not: null } }, { lastActivityAt: { lt: active.notSince } }] };
    return this.prisma.session.findMany({
      where: { userId, ...cursorWhere(query), ...activity },
      orderBy: cursorOrder(query),
      take: query.limit + 1,
    });
  }

  end(id: string): Promise<SessionRow> {
    return this.prisma.session.update({ where: { id }, data: { endedAt: new Date() } });
  }

  /** Adds to the running totals in the caller's transaction (atomic increments, safe under concurrency). */
  async addActivity(tx: Tx, id: string, a: SessionActivity): Promise<void> {
    await dbOf(tx, this.prisma).session.update({
      where: { id },
      data: {
        conversationCount: { increment: a.conversations },
        messageCount: { increment: a.messages },
        requestCount: { increment: a.requests },
        promptTokens: { increment: a.promptTokens },
        completionTokens: { increment: a.completionTokens },
        costMicros: { increment: a.costMicros },
        lastActivityAt: new Date(),
      },
    });
  }

  /** Serialises session creation per user (PostgreSQL advisory lock; PGlite has one connection). */
  withUserLock<T>(userId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(async (tx) => {
      if (this.prisma.engine === 'postgres') {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${'session:' + userId}))`;
      }
      return work(asTx(tx));
    });
  }
}
